package forge

import (
	"fmt"
	"testing"
)

// Test jobs start with those that install the most.
func TestLargestTestJobsFirst(t *testing.T) {
	sizes := []int64{3, 11, 2, 7, 7, 0}
	got := largestFirst(len(sizes), func(i int) int64 { return sizes[i] })
	if fmt.Sprint(got) != "[1 3 4 0 2 5]" {
		t.Errorf("order %v", got)
	}
}
