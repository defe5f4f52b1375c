"""Oracle Fusion Cloud SCM REST mapping pack: work orders, purchase orders, receipts."""
