"""A shared link names its workspace, so a customer link opens in the right data world."""

def test_customer_link_opens_its_workspace_not_the_default_one(app_test):
    at = app_test("pages/customer.py", "viewer")
    at.query_params["workspace"] = "bank"
    at.query_params["customer_id"] = "C0003"
    at.run()
    assert not at.exception
    assert at.sidebar.selectbox(key="workspace").value == "bank"


def test_without_a_link_the_shop_is_preferred_over_alphabetical_order(app_test):
    at = app_test("pages/overview.py", "viewer")
    at.run()
    assert at.sidebar.selectbox(key="workspace").value == "shop"
    assert at.sidebar.selectbox(key="workspace").options == ["bank", "shop"]
