"""The lab's reports over many runs: `groklab suite` (every preset's claim, run and checked: STATUS.md,
status.html, status.json), `groklab status` (where a sweep or suite stands, while it runs) and `groklab writeup`
(a scientific-structure document generated from run folders; the document itself is groklab.analysis.writeup)."""
