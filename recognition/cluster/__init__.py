"""Face clustering: pass 1 per moment (face + body), pass 2 median-linkage HAC, gallery."""

from recognition.cluster.constraints import Constraints
from recognition.cluster.gallery import Gallery, MergeSuggestion, Person
from recognition.cluster.pass1 import MomentClusterer
from recognition.cluster.pass2 import MedianLinkageHAC, median_linkage
from recognition.cluster.two_pass import TwoPassClusterer

__all__ = [
    "Constraints",
    "Gallery",
    "MedianLinkageHAC",
    "MergeSuggestion",
    "MomentClusterer",
    "Person",
    "TwoPassClusterer",
    "median_linkage",
]
