dist_pkgdata_DATA += data/demo-tenant.json
