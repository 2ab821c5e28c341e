// Keeps bw_test_support non-empty when no helper sources exist.
