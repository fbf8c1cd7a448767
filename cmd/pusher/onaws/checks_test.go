package onaws_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/apigw"
	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/onaws"
)

// TestChecks runs a round of the start-up checks on the stack's emulators, with one
// thing wrong at a time, and reads what each kind of failure becomes: a refusal, a
// pending failure, a warning.
func TestChecks(t *testing.T) {
	s := stacktest.New(t)
	sqsFaults := awstest.NewSQSFaults(t, os.Getenv("AWS_ENDPOINT_URL_SQS"))
	t.Setenv("AWS_ENDPOINT_URL_SQS", sqsFaults.URL)
	good := onaws.Config{APIGWEndpoint: s.Faults.URL, Table: stacktest.Tables(), PoisonQueueURL: s.PoisonURL}
	tests := []struct {
		name                      string
		tune                      func(*onaws.Config)
		fault                     func(t *testing.T)
		refused, pending, warning string // the line's start, "" for none
	}{
		{name: "everything there"},
		{name: "no table", tune: func(c *onaws.Config) { c.Table.Table = "nope" },
			refused: "CONNECTIONS_TABLE_NAME=nope: table not found (ResourceNotFoundException) in us-east-1"},
		{name: "no index", tune: func(c *onaws.Config) { c.Table.SubscriptionsIndex = "by-user" },
			refused: "SUBSCRIPTIONS_TABLE_NAME=ws-subscriptions: index by-user not found"},
		{name: "no poison queue", tune: func(c *onaws.Config) { c.PoisonQueueURL = strings.TrimSuffix(s.PoisonURL, "poison") + "nope" },
			refused: "POISON_QUEUE_URL=" + strings.TrimSuffix(s.PoisonURL, "poison") + "nope: queue not found"},
		{name: "the poison queue not readable", fault: func(t *testing.T) {
			sqsFaults.FailQueue(s.PoisonURL, awstest.SQSAccessDenied)
			t.Cleanup(func() { sqsFaults.FailQueue("", "") })
		}, warning: "POISON_QUEUE_URL=" + s.PoisonURL + ": access denied to sqs:GetQueueAttributes"},
		{name: "the endpoint answers 503", fault: func(t *testing.T) {
			s.Faults.Fail(func(id string, _ int) int {
				if id == apigw.ProbeConnectionID {
					return http.StatusServiceUnavailable
				}
				return 0
			})
			t.Cleanup(func() { s.Faults.Fail(nil) })
		}, pending: "APIGW_ENDPOINT=" + s.Faults.URL + ": status 503"},
		{name: "a stage with no Management API", tune: func(c *onaws.Config) { c.APIGWEndpoint += "/prod" },
			refused: "APIGW_ENDPOINT=" + s.Faults.URL + "/prod: no Management API there"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			if tc.tune != nil {
				tc.tune(&cfg)
			}
			if tc.fault != nil {
				tc.fault(t)
			}
			report := run(t, cfg)
			for _, c := range []struct {
				what  string
				got   onaws.Report
				start string
			}{{"refused", report.Refused(), tc.refused}, {"pending", report.Pending(), tc.pending}, {"warnings", report.Warnings(), tc.warning}} {
				switch {
				case c.start == "" && len(c.got) != 0:
					t.Errorf("%s: %q, want none", c.what, c.got.Lines())
				case c.start != "" && (len(c.got) != 1 || !strings.HasPrefix(c.got[0].String(), c.start)):
					t.Errorf("%s: %q, want one line starting %q", c.what, c.got.Lines(), c.start)
				}
			}
			if (report.Err() != nil) != (tc.refused != "") {
				t.Errorf("Err: %v, want an error only for a refusal", report.Err())
			}
		})
	}
}

// TestChecksWithoutCredentials: with no credentials anywhere (none in the environment,
// no shared files in HOME, the instance metadata endpoint on a closed port, as on a
// machine without IMDS), the round stops at the credentials, one refusal.
func TestChecksWithoutCredentials(t *testing.T) {
	s := stacktest.New(t)
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("HOME", t.TempDir())
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", fmt.Sprintf("http://127.0.0.1:%d", awstest.FreePort(t)))
	report := run(t, onaws.Config{APIGWEndpoint: s.Faults.URL, Table: stacktest.Tables(), PoisonQueueURL: s.PoisonURL})
	if refused := report.Refused(); len(report) != 1 || len(refused) != 1 || !strings.HasPrefix(refused[0].String(), "credentials: none found: ") {
		t.Errorf("report %q, want the one line of the credentials", report.Lines())
	}
}

// run runs a round of the checks of cfg, with the AWS configuration of the environment.
func run(t *testing.T, cfg onaws.Config) onaws.Report {
	t.Helper()
	awsCfg, err := onaws.NewAWSConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checks, err := onaws.NewChecks(cfg, awsCfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return checks.Run(context.Background())
}

// TestChecksCredentialsSources: what a failure of each source of credentials becomes,
// each source served by a fake on a real socket: a refusal only where no source is
// configured or a source refuses for good; pending where a retry may pass, so that a
// fleet restarting while the instance metadata throttles, STS cannot reach the identity
// provider, or the container's endpoint restarts waits instead of exiting.
func TestChecksCredentialsSources(t *testing.T) {
	s := stacktest.New(t)
	closed := fmt.Sprintf("http://127.0.0.1:%d", awstest.FreePort(t))
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("eyJhbGciOiJSUzI1NiJ9.e30.c2ln"), 0o600); err != nil {
		t.Fatal(err)
	}
	// imds hands out a session token (IMDSv2's PUT /latest/api/token) and answers the
	// rest with status, as an instance metadata endpoint that throttles (429), or whose
	// instance has no role (404) (Use the Instance Metadata Service, Amazon EC2 User
	// Guide, https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html).
	imds := func(status int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && r.URL.Path == "/latest/api/token" {
				w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")
				fmt.Fprint(w, "token")
				return
			}
			w.WriteHeader(status)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	// sts answers AssumeRoleWithWebIdentity with an error of STS's query protocol
	// (https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html).
	sts := func(status int, code string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(status)
			fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>%s</Code><Message>fake</Message></Error><RequestId>1</RequestId></ErrorResponse>`, code)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	webIdentity := func(stsURL string) map[string]string {
		return map[string]string{"AWS_WEB_IDENTITY_TOKEN_FILE": token, "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/pusher", "AWS_ENDPOINT_URL_STS": stsURL}
	}
	tests := []struct {
		name    string
		env     map[string]string
		refused string // the line's start; "" for a pending failure
	}{
		{name: "no source: no instance metadata", env: map[string]string{"AWS_EC2_METADATA_SERVICE_ENDPOINT": closed}, refused: "credentials: none found: "},
		{name: "no source: an instance without a role", env: map[string]string{"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds(http.StatusNotFound)}, refused: "credentials: none found: "},
		{name: "the instance metadata throttles", env: map[string]string{"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds(http.StatusTooManyRequests)}},
		{name: "the container's endpoint refuses the connection", env: map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": closed}},
		{name: "STS throttles", env: webIdentity(sts(http.StatusBadRequest, "Throttling"))},
		{name: "STS cannot reach the identity provider", env: webIdentity(sts(http.StatusBadRequest, "IDPCommunicationError"))},
		{name: "STS does not take the token yet", env: webIdentity(sts(http.StatusBadRequest, "InvalidIdentityToken"))},
		{name: "STS refuses the role", env: webIdentity(sts(http.StatusForbidden, "AccessDenied")), refused: "credentials: not retrieved: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
				"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"} {
				t.Setenv(k, "")
			}
			t.Setenv("HOME", t.TempDir())
			// One attempt a call where the SDK takes the setting: the round ends before
			// its timeout, which alone would make any failure pending.
			t.Setenv("AWS_MAX_ATTEMPTS", "1")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			start := time.Now()
			report := run(t, onaws.Config{APIGWEndpoint: s.Faults.URL, Table: stacktest.Tables(), PoisonQueueURL: s.PoisonURL})
			if took := time.Since(start); tc.refused == "" && took >= onaws.DefaultChecksTimeout {
				t.Fatalf("the round took %s, its timeout: the failure says nothing of the source", took)
			}
			if len(report) != 1 || report[0].Setting != "credentials" {
				t.Fatalf("report %q, want the one line of the credentials", report.Lines())
			}
			switch refused := report.Refused(); {
			case tc.refused == "" && len(refused) != 0:
				t.Errorf("refused %q, want it pending", refused.Lines())
			case tc.refused != "" && (len(refused) != 1 || !strings.HasPrefix(refused[0].String(), tc.refused)):
				t.Errorf("report %q, want a refusal starting %q", report.Lines(), tc.refused)
			}
		})
	}
}
