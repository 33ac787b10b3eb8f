package prgit

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

func TestCountsKeepsOnlyAcceptedWrites(t *testing.T) {
	tests := []struct {
		name   string
		method string
		status int
		want   []string
	}{
		{"a read is not a write", http.MethodGet, http.StatusOK, nil},
		{"a head is not a write", http.MethodHead, http.StatusOK, nil},
		{"an accepted post", http.MethodPost, http.StatusCreated, []string{"POST /x%2Fy"}},
		{"an accepted delete", http.MethodDelete, http.StatusNoContent, []string{"DELETE /x%2Fy"}},
		{"a refused put", http.MethodPut, http.StatusConflict, nil},
		{"a redirect is not accepted", http.MethodPatch, http.StatusMovedPermanently, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c Counts
			r := httptest.NewRequest(tc.method, "/x%2Fy", nil)
			c.Request()
			c.Serve(httptest.NewRecorder(), r, r.URL.EscapedPath(), func(w http.ResponseWriter) { w.WriteHeader(tc.status) })
			if got := c.Writes(); !slices.Equal(got, tc.want) {
				t.Errorf("Writes() = %q, want %q", got, tc.want)
			}
			if c.Requests() != 1 {
				t.Errorf("Requests() = %d, want 1", c.Requests())
			}
			c.ResetCounts()
			if c.Requests() != 0 || len(c.Writes()) != 0 {
				t.Errorf("after ResetCounts: %d requests, writes %q", c.Requests(), c.Writes())
			}
		})
	}
}

func TestCountsStatusDefaultsToOK(t *testing.T) {
	var c Counts
	r := httptest.NewRequest(http.MethodPost, "/p", nil)
	c.Serve(httptest.NewRecorder(), r, "/p", func(w http.ResponseWriter) { _, _ = w.Write([]byte("{}")) })
	if got := c.Writes(); !slices.Equal(got, []string{"POST /p"}) {
		t.Errorf("a body without WriteHeader answers 200: Writes() = %q", got)
	}
}
