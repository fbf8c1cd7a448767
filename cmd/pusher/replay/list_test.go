package replay_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/replay"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// TestWriteTableShowsTheCause lists a delivery parked with a long reason, as an SDK
// error makes them: the table keeps what failed (its start) and why (its end), and
// --wide keeps it whole.
func TestWriteTableShowsTheCause(t *testing.T) {
	const (
		what  = "post to ZxY1cd0aIAMCJKw= of bob"
		cause = "dial tcp 10.0.0.7:443: connect: connection refused"
	)
	reason := what + ": operation error ApiGatewayManagementApi: PostToConnection, https response error StatusCode: 0, RequestID: , " +
		"exceeded maximum number of attempts, 3, https request failed: Post \"https://abc123.execute-api.eu-west-1.amazonaws.com/prod/@connections/ZxY1cd0aIAMCJKw%3D\": " + cause
	parked := []pipeline.Parked{{UUID: "u-1", Stage: pipeline.StagePost, UserID: "bob", ConnectionID: "ZxY1cd0aIAMCJKw=", Reason: reason}}
	for _, tt := range []struct {
		name  string
		wide  bool
		want  []string
		width int // longest line at most; 0: any
	}{
		{name: "cut in the middle", want: []string{"post to {connection} of {user}", "connect: connection refused", "post to ZxY1cd0aIAMCJKw= of bob", "…"}, width: 250},
		{name: "wide", wide: true, want: []string{reason}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := replay.WriteTable(&out, parked, tt.wide); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("table\n%s\nwant %q", out.String(), w)
				}
			}
			for line := range strings.Lines(out.String()) {
				if n := len([]rune(line)); tt.width > 0 && n > tt.width {
					t.Errorf("a line of %d characters, want at most %d: %s", n, tt.width, line)
				}
			}
		})
	}
}
