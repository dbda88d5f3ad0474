"""网上警务室: the online community police room chat bot."""
