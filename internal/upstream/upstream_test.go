package upstream

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/spec"
)

// proxyRefusingList answers @v/list with 403, as the Go module proxy does
// for some modules, and @latest with latest (404 when empty).
func proxyRefusingList(t *testing.T, latest string) *Checker {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/example.com/m/v2/@v/list":
			http.Error(w, "forbidden", http.StatusForbidden)
		case "/example.com/m/v2/@latest":
			if latest == "" {
				http.NotFound(w, r)
				return
			}
			fmt.Fprintf(w, `{"Version":%q}`, latest)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return &Checker{Proxy: srv.URL, HTTP: srv.Client()}
}

func moduleComponent() *spec.Component {
	return &spec.Component{Name: "m", Version: "2.0.0", Source: &spec.Source{GoModule: "example.com/m/v2@v2.0.0"}}
}

// A proxy that refuses to list a module still answers @latest.
func TestModuleListRefusedFallsBackToLatest(t *testing.T) {
	k := proxyRefusingList(t, "v2.3.1")
	r, err := k.Newest(t.Context(), moduleComponent())
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != "2.3.1" || r.Ref != "v2.3.1" {
		t.Errorf("newest = %+v, want 2.3.1 from @latest", r)
	}
}

// When @latest fails too, the error gives both answers: before, only the
// list's 403 was named and the @latest answer was lost.
func TestModuleListAndLatestRefusedNamesBoth(t *testing.T) {
	k := proxyRefusingList(t, "")
	_, err := k.Newest(t.Context(), moduleComponent())
	var ue *UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("want an UnreachableError, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"@v/list: 403 Forbidden", "@latest: 404 Not Found", "m: upstream"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
}
