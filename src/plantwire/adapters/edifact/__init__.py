"""UN/EDIFACT (D.93A and later, syntax v1-v4): ORDERS, ORDRSP, DESADV, INVOIC in and out, with CONTRL."""
