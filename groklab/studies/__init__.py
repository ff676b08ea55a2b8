"""Workflows built on runs: the Grokking Tickets pipeline (Minegishi 2023) and Nanda 2023 progress measures."""
