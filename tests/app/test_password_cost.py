"""The production bcrypt cost (the other auth tests run at cost 4 for speed)."""

from crm_core.auth import passwords


def test_production_bcrypt_cost_is_twelve_for_hashes_and_the_dummy():
    assert passwords.BCRYPT_ROUNDS == 12
    assert passwords.hash_password("long-enough-password").startswith("$2b$12$")
    assert passwords.dummy_hash().startswith("$2b$12$")
    assert passwords.verify_password("x" * 100, passwords.dummy_hash()) is False
