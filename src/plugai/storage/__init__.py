"""Keeping PlugAI's files inside their quota: reserve before downloading, evict what is
idle and replaceable, refuse (507) the rest. Artifacts join the quota in a later issue."""
