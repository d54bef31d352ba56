"""Near-duplicate detection as pure functions (MinHash, LSH band keys, Jaccard): imports nothing of monitor."""
