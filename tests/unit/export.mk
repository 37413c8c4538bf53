# filled by the export writers
