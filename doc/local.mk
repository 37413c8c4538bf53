dist_man_MANS += doc/chatvault.1
dist_doc_DATA += doc/user-guide.md doc/threat-model.md doc/architecture.md doc/benchmarks.md
