"""Moving files between zones without ever losing one: copy, confirm the copy, then delete the source
(docs/spec.md §3: nothing is deleted before its copy is confirmed).

``telco360.storage.s3`` moves S3 objects (the validator Lambda, ``telco360 replay-rejected``);
``telco360.storage.folder`` moves files of a local lake (the local runner's gate). Where a file goes is
decided elsewhere (``telco360.zones``, ``telco360.gate.routing``); these modules only do the storage
work, in an order that survives a crash at any step.
"""
