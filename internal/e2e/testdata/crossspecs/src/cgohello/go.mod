module example.org/cgohello

go 1.22
