"""The knowledge room: loaders, text processing, embedders, the hybrid index, evaluation.

Import from the submodules (`knowledge.loaders`, `knowledge.index`, ...); this package imports
nothing itself so that `knowledge.records` and `knowledge.search` stay cheap to import.
"""
