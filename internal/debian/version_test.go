package debian_test

import (
	"os/exec"
	"testing"

	"github.com/debforge/debforge/internal/debian"
	"github.com/debforge/debforge/internal/testutil"
)

func TestCompareVersions(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"1.0-1", "1.0-1", 0},
		{"1.0-1", "not a version", -1},
		{"1.0-1", "1.0-2", -1},
		{"1.10-1", "1.9-1", 1},
		{"1.0~rc1-1", "1.0-1", -1},
		{"1:0.1-1", "2.0-1", 1},
		{"2.4.2-1", "2.4.2-1+b1", -1},
		{"1.0a-1", "1.0-1", 1},
		{"1.0+fp0a1b-1", "1.0+fp0a1b-1", 0},
		{"0.34.2-1", "0.9.0-1", 1},
	}
	for _, c := range cases {
		if got := debian.CompareVersions(c.a, c.b); got != c.want {
			t.Errorf("debian.CompareVersions(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := debian.CompareVersions(c.b, c.a); got != -c.want {
			t.Errorf("debian.CompareVersions(%q, %q) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
}

// The order is dpkg's own, also for versions dpkg would refuse
// to parse, which sort after every valid one.
func TestCompareVersionsAgreesWithDpkg(t *testing.T) {
	testutil.RequireTool(t, "dpkg")
	pairs := [][2]string{{"1.0~~a-1", "1.0~a-1"}, {"1.2.3-1", "1.2.3.0-1"}, {"1.0-1.1", "1.0-1"}, {"7.6p2-4", "7.6-0"}, {"1.0+dfsg-1", "1.0-1"},
		{"1.0", "1.0-0"}, {"1:1.0", "2.0"}, {"1.0~", "1.0"}, {"2.4.2-1+deb12", "2.4.2-1+deb13"}, {"2.4.2-1", "2.4.2-1+deb12"}, {"0.9.0", "0.34.2"}, {"1.0-1~bpo1", "1.0-1"}}
	for _, p := range pairs {
		lt := exec.Command("dpkg", "--compare-versions", p[0], "lt", p[1]).Run() == nil
		if got := debian.CompareVersions(p[0], p[1]) < 0; got != lt {
			t.Errorf("%s < %s: ours %v, dpkg %v", p[0], p[1], got, lt)
		}
	}
}
