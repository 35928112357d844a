"""Segments: RFM scores and named segments, clusters with personas, CLV and churn risk.

The public entry is :func:`segment_customers` (after
:func:`crm_core.features.customer_features`); :mod:`.compare` compares runs.
"""

from crm_core.segment.segmentation import SegmentResult, segment_customers
from crm_core.segment.settings import ClusterConfig, RfmConfig, SegmentConfig, ValueConfig

__all__ = ["ClusterConfig", "RfmConfig", "SegmentConfig", "SegmentResult", "ValueConfig", "segment_customers"]
