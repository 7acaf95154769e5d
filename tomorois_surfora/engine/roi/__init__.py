"""TomoROIS: region-of-interest segmentation with a Mixed-Scale Dense network (needs torch)."""
