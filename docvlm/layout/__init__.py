"""Layout regions of page images (text, title, list, table, figure, header, footer, ...)."""

from docvlm.layout.regions import Region, RegionKind, detect_regions

__all__ = ["Region", "RegionKind", "detect_regions"]
