module example.org/gohello

go 1.22
