"""SAP mapping pack: IDoc XML (idoc/) and S/4HANA OData JSON (odata/), sharing mapping tables."""
