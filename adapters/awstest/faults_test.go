package awstest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestFaults(t *testing.T) {
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(gateway.Close)
	f := NewFaults(t, gateway.URL)
	post := func(id string) int {
		t.Helper()
		resp, err := http.Post(f.URL+"/@connections/"+id, "application/json", strings.NewReader(`1`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	f.Fail(func(id string, n int) int {
		if id == "a" && n <= 2 {
			return http.StatusInternalServerError
		}
		return 0
	})
	for i, want := range []int{500, 500, 204} {
		if got := post("a"); got != want {
			t.Errorf("post %d to a answered %d, want %d", i+1, got, want)
		}
	}
	if got := post("b"); got != http.StatusNoContent {
		t.Errorf("post to b answered %d", got)
	}
	if n := f.Count("a"); n != 3 {
		t.Errorf("count of a %d, want 3", n)
	}
	if posts, conns := f.Total(); posts != 4 || conns != 2 {
		t.Errorf("total %d posts to %d connections, want 4 to 2", posts, conns)
	}
	f.Fail(nil)
	if posts, _ := f.Total(); posts != 0 {
		t.Errorf("Fail kept %d posts counted", posts)
	}
	if got := post("a"); got != http.StatusNoContent {
		t.Errorf("post to a after Fail(nil) answered %d", got)
	}
}
