"""SAP S/4HANA OData (V2/V4 JSON): production order confirmations, material documents, orders."""
