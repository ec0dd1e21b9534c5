module example.org/versionhello

go 1.22
