"""Co-purchase affinity: an item-item model over who bought or holds what.

The model is EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse
Data", WWW 2019): a closed-form item-item weight matrix
``B = I - P diag(1/diag(P))`` with ``P = (X'X + lambda I)^-1`` and a zero
diagonal, fitted on the binary customer x product matrix ``X``. A customer's
affinity for a product is the sum of the weights from the products they
bought or hold, so it works for retail baskets and bank holdings alike.
Co-purchase shares (``x % of customers who bought A also bought B``) come from
the same ``X'X`` and explain the offers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.linalg import lapack

from crm_core.errors import ModelNotFitted

_CHUNK_CELLS = 8_000_000  # customers x products scored at once (~32 MB of float32)
_CHUNK_CUSTOMERS = 16_384  # and their candidates: ~6 kB per customer, ~100 MB a block whatever the catalog
_PAIR_BLOCK_ROWS = 1 << 15  # customers whose product pairs are counted at once (~80 MB of pairs)


class ItemItemModel:
    """EASE item-item weights over the most bought products.

    Args:
        regularisation: L2 penalty lambda (larger = smoother, favours popular items).
        max_products: only this many most bought products enter the model.
    """

    def __init__(self, regularisation: float = 500.0, max_products: int = 2000):
        self.regularisation = float(regularisation)
        self.max_products = int(max_products)

    def fit(self, pairs: pd.DataFrame, n_customers: int, n_products: int) -> "ItemItemModel":
        """Fit on (customer code ``c``, product code ``p``) pairs sorted by ``c, p``; returns self."""
        c, p = pairs["c"].to_numpy(), pairs["p"].to_numpy()
        buyers = np.bincount(p, minlength=n_products)
        order = np.lexsort((np.arange(n_products), -buyers))
        items = np.sort(order[: min(self.max_products, int((buyers > 0).sum()))])
        column = np.full(n_products, -1, dtype=np.int64)
        column[items] = np.arange(len(items))
        m = column[p]
        keep = m >= 0
        # Pairs are sorted by customer then product, and columns follow product codes: CSR as it stands.
        indptr = np.zeros(n_customers + 1, dtype=np.int64)
        np.cumsum(np.bincount(c[keep], minlength=n_customers), out=indptr[1:])
        X = sp.csr_matrix((np.ones(int(keep.sum()), dtype=np.float32), m[keep].astype(np.int32), indptr),
                          shape=(n_customers, len(items)))
        G = _cooccurrence(X)
        weights = np.zeros((len(items), len(items)), dtype=np.float32)
        if len(items):
            weights = _ease_weights(G, self.regularisation)
        self.items_ = items
        self.column_ = column
        self.cooccurrence_ = G
        self.weights_ = weights
        self.matrix_ = X
        return self

    def _check(self) -> None:
        if not hasattr(self, "weights_"):
            raise ModelNotFitted("ItemItemModel.fit() must run before scoring.")

    def block_size(self) -> int:
        """Customers to score at once: a block's scores stay near 32 MB and its candidates near 100 MB."""
        return min(max(1024, _CHUNK_CELLS // max(len(self.items_), 1)), _CHUNK_CUSTOMERS)

    def scores(self, rows: np.ndarray) -> np.ndarray:
        """Dense (rows x model products) float32 affinity of the customers ``rows`` for every model product."""
        self._check()
        X = self.matrix_[rows] if not _is_range(rows) else self.matrix_[int(rows[0]):int(rows[-1]) + 1]
        return np.asarray(X @ self.weights_, dtype=np.float32)

    def bought_mask(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row position, model column) of every model product the customers ``rows`` bought or hold."""
        X = self.matrix_[rows] if not _is_range(rows) else self.matrix_[int(rows[0]):int(rows[-1]) + 1]
        return np.repeat(np.arange(X.shape[0]), np.diff(X.indptr)), X.indices

    def anchors(self, offer_c: np.ndarray, offer_p: np.ndarray) -> pd.DataFrame:
        """For each offer, the customer's product that points to it most, with the co-purchase share.

        The anchor is the customer's model product with the highest item-item
        weight towards the offered product (ties: the smaller product code),
        the offered product itself excluded.

        Returns a frame aligned with the offers: ``anchor`` (product code, -1
        when none), ``share`` (of the anchor's buyers who also bought the
        offered product, 0..1), ``pair_buyers`` (customers who bought both).
        """
        self._check()
        n = len(offer_c)
        anchor = np.full(n, -1, np.int64)
        share = np.zeros(n)
        pair_buyers = np.zeros(n)
        ocol = self.column_[offer_p] if n else np.zeros(0, np.int64)
        X = self.matrix_
        if n and len(self.items_):
            length = np.where(ocol >= 0, np.diff(X.indptr)[offer_c], 0)
            starts = np.cumsum(length) - length
            total = int(length.sum())
            offer = np.repeat(np.arange(n), length)
            col = X.indices[np.repeat(X.indptr[offer_c], length) + np.arange(total) - np.repeat(starts, length)]
            w = self.weights_[col, ocol[offer]].astype(np.float64)
            w[col == ocol[offer]] = -np.inf  # the offered product cannot anchor itself
            has = length > 0
            best = np.full(n, -np.inf)
            best[has] = np.maximum.reduceat(w, starts[has])
            # the first column reaching the best weight: columns run in product order, so the smaller code wins
            hit = np.flatnonzero((w == best[offer]) & np.isfinite(w))
            first = np.ones(len(hit), dtype=bool)
            first[1:] = offer[hit][1:] != offer[hit][:-1]
            o, pos = offer[hit][first], hit[first]
            G = self.cooccurrence_
            a_col, o_col = col[pos], ocol[o]
            both, base = G[a_col, o_col], G[a_col, a_col]
            anchor[o] = self.items_[a_col]
            share[o] = np.divide(both, base, out=np.zeros(len(o)), where=base > 0)
            pair_buyers[o] = both
        return pd.DataFrame({"anchor": anchor, "share": share, "pair_buyers": pair_buyers})


def _cooccurrence(X: sp.csr_matrix) -> np.ndarray:
    """``X'X`` of a binary CSR matrix as a dense float32 array: customers who bought both of two products.

    Counted from the pairs of columns within each row (a customer buys a few
    products, so there are far fewer pairs than ``X'X`` would multiply);
    falls back to the sparse product when rows are long.
    """
    m = X.shape[1]
    lengths = np.diff(X.indptr)
    if int((lengths.astype(np.int64) ** 2).sum()) > 400_000_000 or m > 46_000:
        return (X.T @ X).toarray()
    counts = np.zeros(m * m, dtype=np.int64)
    step = _PAIR_BLOCK_ROWS
    for lo in range(0, X.shape[0], step):  # blocks of rows bound the memory of the pairs
        hi = min(X.shape[0], lo + step)
        start, stop = X.indptr[lo], X.indptr[hi]
        cols = X.indices[start:stop].astype(np.int64)
        row_start = np.repeat(X.indptr[lo:hi] - start, lengths[lo:hi])
        earlier = np.arange(len(cols)) - row_start  # how many columns precede each one in its row
        total = int(earlier.sum())
        if total == 0:
            continue
        later = np.repeat(np.arange(len(cols)), earlier)
        offset = np.arange(total) - np.repeat(np.cumsum(earlier) - earlier, earlier)
        counts += np.bincount(cols[later] * m + cols[row_start[later] + offset], minlength=m * m)
    G = counts.reshape(m, m)
    G = G + G.T
    G[np.diag_indices(m)] = np.bincount(X.indices, minlength=m)
    return G.astype(np.float32)


def _is_range(rows: np.ndarray) -> bool:
    """True when ``rows`` are consecutive codes (a contiguous slice of the matrix)."""
    return len(rows) > 0 and int(rows[-1]) - int(rows[0]) == len(rows) - 1


def _ease_weights(G: np.ndarray, regularisation: float) -> np.ndarray:
    """EASE's closed form in float32 via a Cholesky inverse (LAPACK potrf/potri): ~10x faster than float64."""
    A = (G + regularisation * np.eye(len(G))).astype(np.float32)
    factor, info = lapack.spotrf(A, lower=0)
    if info == 0:
        inv, info = lapack.spotri(factor, lower=0)
    if info != 0:  # not positive definite in float32: fall back to a general float64 inverse
        inv = np.linalg.inv(G + regularisation * np.eye(len(G)))
    else:
        inv = np.triu(inv) + np.triu(inv, 1).T
    weights = (-inv / np.diag(inv)[None, :]).astype(np.float32)
    np.fill_diagonal(weights, 0.0)
    return weights


def cluster_adoption(pairs: pd.DataFrame, cluster_of: np.ndarray, n_products: int) -> np.ndarray:
    """Share of each cluster's customers who bought or hold each product.

    Args:
        pairs: (customer code ``c``, product code ``p``) pairs.
        cluster_of: cluster code per customer code (-1 = no cluster).
        n_products: number of product codes.
    Returns:
        A (clusters x products) array of shares in [0, 1].
    """
    k = int(cluster_of.max()) + 1 if len(cluster_of) and cluster_of.max() >= 0 else 0
    if k == 0:
        return np.zeros((0, n_products))
    sizes = np.bincount(cluster_of[cluster_of >= 0], minlength=k).astype(float)
    cl = cluster_of[pairs["c"].to_numpy()]
    keep = cl >= 0
    counts = np.bincount(cl[keep] * n_products + pairs["p"].to_numpy()[keep], minlength=k * n_products)
    return counts.reshape(k, n_products).astype(float) / np.maximum(sizes, 1.0)[:, None]
