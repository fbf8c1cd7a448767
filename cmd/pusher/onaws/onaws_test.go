package onaws_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apigw-pusher/apigw-pusher/adapters/apigw"
	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/adapters/sqs"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/onaws"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// valid is a Config that Validate takes: the settings a deployment exports.
func valid() onaws.Config {
	return onaws.Config{
		APIGWEndpoint:  "https://abc123.execute-api.eu-west-1.amazonaws.com/prod",
		Table:          dynamodb.Config{Table: "connections"},
		PoisonQueueURL: "https://sqs.eu-west-1.amazonaws.com/123456789012/pusher-poison",
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *onaws.Config)
		// want is what the one line says; "" for a config Validate takes.
		want string
	}{
		{name: "all set", change: func(*onaws.Config) {}},
		{
			name: "local endpoints",
			change: func(c *onaws.Config) {
				c.APIGWEndpoint, c.PoisonQueueURL = "http://127.0.0.1:8080", "http://127.0.0.1:4100/100010001000/poison"
			},
		},
		{
			name:   "no endpoint",
			change: func(c *onaws.Config) { c.APIGWEndpoint = "" },
			want:   "APIGW_ENDPOINT is not set: the Management API endpoint, such as https://abc123.execute-api.eu-west-1.amazonaws.com/prod",
		},
		{
			name:   "endpoint without a scheme",
			change: func(c *onaws.Config) { c.APIGWEndpoint = "abc123.execute-api.eu-west-1.amazonaws.com/prod" },
			want:   `APIGW_ENDPOINT="abc123.execute-api.eu-west-1.amazonaws.com/prod" is not an http(s) URL`,
		},
		{
			// The URL clients connect to, mistaken for the Management API's.
			name:   "the WebSocket URL as endpoint",
			change: func(c *onaws.Config) { c.APIGWEndpoint = "wss://abc123.execute-api.eu-west-1.amazonaws.com/prod" },
			want:   `APIGW_ENDPOINT="wss://abc123.execute-api.eu-west-1.amazonaws.com/prod" is not an http(s) URL`,
		},
		{
			name:   "no table",
			change: func(c *onaws.Config) { c.Table.Table = "" },
			want:   "CONNECTIONS_TABLE_NAME is not set: the DynamoDB table of connections",
		},
		{
			name:   "no poison queue",
			change: func(c *onaws.Config) { c.PoisonQueueURL = "" },
			want:   "POISON_QUEUE_URL is not set: the SQS queue that failed work is parked in",
		},
		{
			// A queue's name or ARN instead of its URL.
			name:   "poison queue by name",
			change: func(c *onaws.Config) { c.PoisonQueueURL = "pusher-poison" },
			want:   `POISON_QUEUE_URL="pusher-poison" is not an http(s) URL`,
		},
		{
			name:   "poison queue by ARN",
			change: func(c *onaws.Config) { c.PoisonQueueURL = "arn:aws:sqs:eu-west-1:123456789012:pusher-poison" },
			want:   `POISON_QUEUE_URL="arn:aws:sqs:eu-west-1:123456789012:pusher-poison" is not an http(s) URL`,
		},
		{
			name:   "the first of several is reported",
			change: func(c *onaws.Config) { *c = onaws.Config{} },
			want:   "APIGW_ENDPOINT is not set: the Management API endpoint, such as https://abc123.execute-api.eu-west-1.amazonaws.com/prod",
		},
		{
			name:   "a bad table setting",
			change: func(c *onaws.Config) { c.Table.TTL = 500 * time.Millisecond; c.Table.TTLAttribute = "expires_at" },
			want:   "connections table: ttl 500ms is under a second, the resolution of DynamoDB's Time to Live",
		},
		{
			name:   "a bad pipeline setting",
			change: func(c *onaws.Config) { c.Pipeline.PostConcurrency = -1 },
			want:   "PostConcurrency is -1, below 0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.change(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Errorf("Validate() = %v,\nwant %s", err, tt.want)
			}
		})
	}
}

func TestAbsoluteURL(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"https://abc123.execute-api.eu-west-1.amazonaws.com/prod", true},
		{"http://127.0.0.1:8080", true},
		{"https://sqs.eu-west-1.amazonaws.com/123456789012/q", true},
		{"HTTPS://EXAMPLE.COM", true},
		{"", false},
		{"/prod", false},
		{"abc123.execute-api.eu-west-1.amazonaws.com/prod", false},
		{"wss://abc123.execute-api.eu-west-1.amazonaws.com/prod", false},
		{"arn:aws:sqs:eu-west-1:123456789012:q", false},
		{"http://", false},
		{"http:///path", false},
		{"http://[::1", false},
	}
	for _, tt := range tests {
		if got := onaws.AbsoluteURL(tt.s); got != tt.want {
			t.Errorf("AbsoluteURL(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

// awsEnv makes the test's environment that of a machine with no AWS configuration of
// its own (no region, profile, endpoint or shared files), then sets env.
func awsEnv(t *testing.T, env map[string]string) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	for _, k := range []string{
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for k, v := range env {
		t.Setenv(k, v)
	}
}

func TestNewAWSConfig(t *testing.T) {
	sharedConfig := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(sharedConfig, []byte("[default]\nregion = ap-south-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		env          map[string]string
		wantErr      string
		wantRegion   string
		wantEndpoint string // "" for the services' own
	}{
		{
			name:    "no region",
			env:     map[string]string{},
			wantErr: "AWS_REGION is not set: the region of the table, queues and API",
		},
		{
			name:    "credentials but no region",
			env:     map[string]string{"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret"},
			wantErr: "AWS_REGION is not set: the region of the table, queues and API",
		},
		{
			name:       "AWS_REGION",
			env:        map[string]string{"AWS_REGION": "eu-west-1"},
			wantRegion: "eu-west-1",
		},
		{
			name:       "the region of the shared config file",
			env:        map[string]string{"AWS_CONFIG_FILE": sharedConfig},
			wantRegion: "ap-south-1",
		},
		{
			name:       "AWS_REGION over the shared config file",
			env:        map[string]string{"AWS_CONFIG_FILE": sharedConfig, "AWS_REGION": "eu-west-1"},
			wantRegion: "eu-west-1",
		},
		{
			name:         "AWS_ENDPOINT_URL",
			env:          map[string]string{"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566"},
			wantRegion:   "us-east-1",
			wantEndpoint: "http://127.0.0.1:4566",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			awsEnv(t, tt.env)
			cfg, err := onaws.NewAWSConfig(t.Context())
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("NewAWSConfig() = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewAWSConfig(): %v", err)
			}
			if cfg.Region != tt.wantRegion {
				t.Errorf("region %q, want %q", cfg.Region, tt.wantRegion)
			}
			if got := aws.ToString(cfg.BaseEndpoint); got != tt.wantEndpoint {
				t.Errorf("endpoint %q, want %q", got, tt.wantEndpoint)
			}
		})
	}
}

// poster is a team's own gateway.
type poster struct{ handlers.Poster }

func TestNewStoreAndNewPoster(t *testing.T) {
	teamStore := memory.NewStore(10)
	teamPoster := &poster{}
	client := onaws.NewDynamoDBClient(awstest.Config())
	tests := []struct {
		name string
		cfg  onaws.Config
		opts []custom.Option
		// check checks the store and poster got, or the errors.
		check func(t *testing.T, store custom.Store, storeErr error, p handlers.Poster, posterErr error)
	}{
		{
			name: "the team's store and poster",
			cfg:  valid(),
			opts: []custom.Option{custom.WithStore(teamStore), custom.WithPoster(teamPoster)},
			check: func(t *testing.T, store custom.Store, storeErr error, p handlers.Poster, posterErr error) {
				if store != custom.Store(teamStore) || storeErr != nil {
					t.Errorf("NewStore = %T, %v; want the team's store", store, storeErr)
				}
				if p != handlers.Poster(teamPoster) || posterErr != nil {
					t.Errorf("NewPoster = %T, %v; want the team's poster", p, posterErr)
				}
			},
		},
		{
			name: "the connections table and the Management API",
			cfg:  valid(),
			opts: []custom.Option{custom.WithObserver(pipeline.NopObserver{})},
			check: func(t *testing.T, store custom.Store, storeErr error, p handlers.Poster, posterErr error) {
				if _, ok := store.(*dynamodb.Store); !ok || storeErr != nil {
					t.Errorf("NewStore = %T, %v; want a *dynamodb.Store", store, storeErr)
				}
				if _, ok := p.(*apigw.Poster); !ok || posterErr != nil {
					t.Errorf("NewPoster = %T, %v; want an *apigw.Poster", p, posterErr)
				}
			},
		},
		{
			name: "the team's store alone",
			cfg:  valid(),
			opts: []custom.Option{custom.WithStore(teamStore)},
			check: func(t *testing.T, store custom.Store, _ error, p handlers.Poster, posterErr error) {
				if store != custom.Store(teamStore) {
					t.Errorf("NewStore = %T, want the team's store", store)
				}
				if _, ok := p.(*apigw.Poster); !ok || posterErr != nil {
					t.Errorf("NewPoster = %T, %v; want an *apigw.Poster", p, posterErr)
				}
			},
		},
		{
			name: "neither a table nor an endpoint",
			cfg:  onaws.Config{},
			check: func(t *testing.T, store custom.Store, storeErr error, p handlers.Poster, posterErr error) {
				if storeErr == nil || !strings.Contains(storeErr.Error(), "CONNECTIONS_TABLE_NAME") {
					t.Errorf("NewStore = %T, %v; want an error naming CONNECTIONS_TABLE_NAME", store, storeErr)
				}
				if posterErr == nil || !strings.Contains(posterErr.Error(), `endpoint "" is not an absolute http(s) URL`) {
					t.Errorf("NewPoster = %T, %v; want an error about the endpoint", p, posterErr)
				}
			},
		},
		{
			name: "the team's store and poster need neither",
			cfg:  onaws.Config{},
			opts: []custom.Option{custom.WithStore(teamStore), custom.WithPoster(teamPoster)},
			check: func(t *testing.T, store custom.Store, storeErr error, p handlers.Poster, posterErr error) {
				if store != custom.Store(teamStore) || storeErr != nil {
					t.Errorf("NewStore = %T, %v; want the team's store", store, storeErr)
				}
				if p != handlers.Poster(teamPoster) || posterErr != nil {
					t.Errorf("NewPoster = %T, %v; want the team's poster", p, posterErr)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, storeErr := onaws.NewStore(tt.cfg, client, tt.opts)
			p, posterErr := onaws.NewPoster(tt.cfg, awstest.Config(), tt.opts)
			tt.check(t, store, storeErr, p, posterErr)
		})
	}
}

// managementAPI is a Management API on a listener of 127.0.0.1: it takes posts to its
// connections, but answers 410 for those gone and 413 for those refused.
type managementAPI struct {
	url     string
	gone    map[string]bool
	refused map[string]bool

	mu    sync.Mutex
	posts []post
}

type post struct {
	path, body, authorization string
}

func newManagementAPI(t *testing.T, gone, refused []string) *managementAPI {
	t.Helper()
	api := &managementAPI{gone: map[string]bool{}, refused: map[string]bool{}}
	for _, id := range gone {
		api.gone[id] = true
	}
	for _, id := range refused {
		api.refused[id] = true
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		api.mu.Lock()
		api.posts = append(api.posts, post{r.Method + " " + r.URL.Path, string(body), r.Header.Get("Authorization")})
		api.mu.Unlock()
		switch {
		case api.gone[id]:
			http.Error(w, `{"message":"Gone"}`, http.StatusGone)
		case api.refused[id]:
			http.Error(w, `{"message":"Request Entity Too Large"}`, http.StatusRequestEntityTooLarge)
		}
	}))
	t.Cleanup(srv.Close)
	api.url = srv.URL
	return api
}

func (api *managementAPI) received() []post {
	api.mu.Lock()
	defer api.mu.Unlock()
	return slices.Clone(api.posts)
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestOnAWS builds a mode's pipeline as `pusher serve` does, from the environment a
// deployment exports pointed at the emulators (AWS_ENDPOINT_URL at goaws's SQS,
// AWS_ENDPOINT_URL_DYNAMODB at dynalite), with a team's stage, and sends a request
// through it: the team's stage sees it, the Management API gets the frame signed, the
// table loses its gone connection and the poison queue gets the refused delivery.
func TestOnAWS(t *testing.T) {
	sqsEndpoint, dynamoEndpoint := awstest.GoAWS(t), awstest.Dynalite(t)
	sqsClient := awstest.SQSClient(sqsEndpoint)
	poisonURL := awstest.CreateQueue(t, sqsClient, "pusher-poison", nil)
	awstest.CreateConnectionsTable(t, awstest.DynamoDBClient(dynamoEndpoint), "connections")
	api := newManagementAPI(t, []string{"ann-gone"}, []string{"ann-big"})
	awsEnv(t, map[string]string{
		"AWS_REGION":                awstest.Region,
		"AWS_ACCESS_KEY_ID":         "test",
		"AWS_SECRET_ACCESS_KEY":     "test",
		"AWS_ENDPOINT_URL":          sqsEndpoint,
		"AWS_ENDPOINT_URL_DYNAMODB": dynamoEndpoint,
	})

	cfg := onaws.Config{
		APIGWEndpoint:  api.url + "/prod",
		Table:          dynamodb.Config{Table: "connections"},
		PoisonQueueURL: poisonURL,
		Pipeline:       pipeline.Config{Retry: pipeline.RetryConfig{InitialInterval: time.Millisecond}},
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	awsCfg, err := onaws.NewAWSConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	store, err := onaws.NewStore(cfg, onaws.NewDynamoDBClient(awsCfg), nil)
	if err != nil {
		t.Fatal(err)
	}
	long := time.Now().Add(-time.Hour)
	for _, id := range []string{"ann-1", "ann-gone", "ann-big"} {
		if err := store.AddConnection(t.Context(), handlers.Connection{UserID: "ann", ConnectionID: id, ConnectedAt: long}); err != nil {
			t.Fatalf("add connection %s: %v", id, err)
		}
	}
	poster, err := onaws.NewPoster(cfg, awsCfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	poison, cleanup, err := onaws.NewPoisonQueue(cfg, awsCfg, discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)

	seen := make(chan handlers.Request, 1)
	audit := custom.WithStage(pipeline.Stage{
		Name:  "team-audit",
		After: pipeline.StageDecode,
		Handler: func(msg *message.Message) ([]*message.Message, error) {
			req, err := pipeline.Decode[handlers.Request](msg)
			if err != nil {
				return nil, err
			}
			seen <- req
			out, err := pipeline.Encode(msg, req)
			return []*message.Message{out}, err
		},
	})
	p, err := onaws.NewPipeline(cfg, store, poster, poison, []custom.Option{audit}, discard())
	if err != nil {
		t.Fatal(err)
	}
	stacktest.RunUntilCleanup(t, "pipeline", p.Run)
	<-p.Running()

	res, err := p.Process(t.Context(), message.NewMessage(watermill.NewUUID(), []byte(`{"users":["ann"],"data":{"text":"hi"}}`)))
	if err != nil {
		t.Fatalf("process: %v", err)
	}
	select {
	case req := <-seen:
		if !slices.Equal(req.Users, []string{"ann"}) {
			t.Errorf("the team's stage saw a request to %v, want [ann]", req.Users)
		}
	default:
		t.Error("the team's stage saw no request")
	}
	if res.Connections != 3 || res.Delivered != 1 || res.Pruned != 1 || res.Failed != 1 {
		t.Errorf("result %+v, want 3 connections, 1 delivered, 1 pruned, 1 failed", res.Stats)
	}

	posts := api.received()
	slices.SortFunc(posts, func(a, b post) int { return strings.Compare(a.path, b.path) })
	var paths []string
	for _, p := range posts {
		paths = append(paths, p.path)
		if p.body != `{"text":"hi"}` {
			t.Errorf("%s: body %s, want the request's data", p.path, p.body)
		}
		if !strings.HasPrefix(p.authorization, "AWS4-HMAC-SHA256 Credential=test/") || !strings.Contains(p.authorization, "/"+awstest.Region+"/execute-api/aws4_request") {
			t.Errorf("%s: Authorization %q, want SigV4 for execute-api in %s", p.path, p.authorization, awstest.Region)
		}
	}
	if want := []string{"POST /prod/@connections/ann-1", "POST /prod/@connections/ann-big", "POST /prod/@connections/ann-gone"}; !slices.Equal(paths, want) {
		t.Errorf("the Management API got %q, want %q", paths, want)
	}

	left, err := store.UserConnections(t.Context(), "ann")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range left {
		ids = append(ids, c.ConnectionID)
	}
	slices.Sort(ids)
	if want := []string{"ann-1", "ann-big"}; !slices.Equal(ids, want) {
		t.Errorf("the table holds %v of ann, want %v: the gone connection pruned", ids, want)
	}

	out, err := sqsClient.ReceiveMessage(t.Context(), &awssqs.ReceiveMessageInput{
		QueueUrl: aws.String(poisonURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 2, MessageAttributeNames: []string{"All"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 {
		t.Fatalf("the poison queue holds %d messages, want the refused delivery", len(out.Messages))
	}
	parked := out.Messages[0]
	if got := aws.ToString(parked.Body); got != `{"text":"hi"}` {
		t.Errorf("parked body %s, want the frame", got)
	}
	for key, want := range map[string]string{
		middleware.PoisonedHandlerKey: pipeline.StagePost,
		pipeline.UserIDKey:            "ann",
		pipeline.ErrorClassKey:        string(pipeline.Permanent),
	} {
		if got := aws.ToString(parked.MessageAttributes[key].StringValue); got != want {
			t.Errorf("parked attribute %s = %q, want %q", key, got, want)
		}
	}
}

// TestNewPipelineTakesTheTeamsOptions checks that NewPipeline gives the pipeline the
// team's middleware and observers, and refuses, naming it, a stage it cannot insert.
func TestNewPipelineTakesTheTeamsOptions(t *testing.T) {
	poison, err := sqs.NewPoisonQueue(awstest.Config(), sqs.PoisonConfig{QueueURL: "http://127.0.0.1:1/000000000000/never-used"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = poison.Close() })
	store := memory.NewStore(10)
	if err := store.AddConnection(t.Context(), handlers.Connection{UserID: "ann", ConnectionID: "ann-1"}); err != nil {
		t.Fatal(err)
	}
	stage := func(name, after string) custom.Option {
		return custom.WithStage(pipeline.Stage{Name: name, After: after, Handler: func(msg *message.Message) ([]*message.Message, error) {
			return []*message.Message{msg}, nil
		}})
	}

	tests := []struct {
		name    string
		opts    func(ran *stageLog, settled chan<- pipeline.Result) []custom.Option
		wantErr string
		// wantRan is what the team's middleware saw run, in order.
		wantRan []string
	}{
		{
			name: "middleware and observer",
			opts: func(ran *stageLog, settled chan<- pipeline.Result) []custom.Option {
				return []custom.Option{custom.WithMiddleware(ran.middleware), custom.WithObserver(observer{settled: settled})}
			},
			wantRan: []string{pipeline.StageDecode, pipeline.StageDedupe, pipeline.StageResolve, pipeline.StageFanout, pipeline.StagePost},
		},
		{
			name: "a stage after one that does not exist",
			opts: func(*stageLog, chan<- pipeline.Result) []custom.Option {
				return []custom.Option{stage("team", "deliver")}
			},
			wantErr: `custom stage: insert stage team: no stage "deliver" to follow`,
		},
		{
			name: "two stages of one name",
			opts: func(*stageLog, chan<- pipeline.Result) []custom.Option {
				return []custom.Option{stage("team", pipeline.StageDecode), stage("team", pipeline.StageResolve)}
			},
			wantErr: "custom stage: insert stage team: the name is taken",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ran := &stageLog{}
			settled := make(chan pipeline.Result, 1)
			p, err := onaws.NewPipeline(valid(), store, nopPoster{}, poison, tt.opts(ran, settled), discard())
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("NewPipeline() = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			stacktest.RunUntilCleanup(t, "pipeline", p.Run)
			<-p.Running()
			if _, err := p.Process(t.Context(), message.NewMessage(watermill.NewUUID(), []byte(`{"users":["ann"],"data":{}}`))); err != nil {
				t.Fatal(err)
			}
			select {
			case res := <-settled:
				if res.Kind != "multicast" || res.Delivered != 1 {
					t.Errorf("the team's observer saw %+v, want a multicast delivered once", res)
				}
			default:
				t.Error("the team's observer saw no request settle")
			}
			if got := ran.names(); !slices.Equal(got, tt.wantRan) {
				t.Errorf("the team's middleware ran %v, want %v", got, tt.wantRan)
			}
		})
	}
}

type nopPoster struct{}

func (nopPoster) PostToConnection(context.Context, string, []byte) error { return nil }

// stageLog is a team's middleware that notes the stages it runs in.
type stageLog struct {
	mu  sync.Mutex
	ran []string
}

func (l *stageLog) middleware(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		l.mu.Lock()
		l.ran = append(l.ran, message.HandlerNameFromCtx(msg.Context()))
		l.mu.Unlock()
		return h(msg)
	}
}

func (l *stageLog) names() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.ran)
}

// observer is a team's observer that passes on the results of settled requests.
type observer struct {
	pipeline.NopObserver
	settled chan<- pipeline.Result
}

func (o observer) RequestSettled(res pipeline.Result) { o.settled <- res }

// TestNewPoisonQueue parks a message on the queue POISON_QUEUE_URL names, then checks
// that after the cleanup the queue takes no more, saying why.
func TestNewPoisonQueue(t *testing.T) {
	endpoint := awstest.GoAWS(t)
	client := awstest.SQSClient(endpoint)
	cfg := onaws.Config{PoisonQueueURL: awstest.CreateQueue(t, client, "pusher-poison", nil)}
	awsEnv(t, map[string]string{"AWS_REGION": awstest.Region, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_ENDPOINT_URL": endpoint})
	awsCfg, err := onaws.NewAWSConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	if _, _, err := onaws.NewPoisonQueue(onaws.Config{}, awsCfg, discard()); err == nil {
		t.Error("NewPoisonQueue without a queue URL: no error")
	}

	q, cleanup, err := onaws.NewPoisonQueue(cfg, awsCfg, discard())
	if err != nil {
		t.Fatal(err)
	}
	msg := message.NewMessage(watermill.NewUUID(), []byte(`{"text":"hi"}`))
	msg.Metadata.Set(middleware.PoisonedHandlerKey, pipeline.StagePost)
	if err := q.Publish("poison", msg); err != nil {
		t.Fatalf("park before the cleanup: %v", err)
	}
	out, err := client.ReceiveMessage(t.Context(), &awssqs.ReceiveMessageInput{QueueUrl: aws.String(cfg.PoisonQueueURL), WaitTimeSeconds: 2})
	if err != nil || len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != `{"text":"hi"}` {
		t.Fatalf("the queue holds %v, %v; want the parked message", out, err)
	}

	cleanup()
	err = q.Publish("poison", message.NewMessage(watermill.NewUUID(), []byte(`{"text":"late"}`)))
	if !errors.Is(err, sqs.ErrPoisonQueueClosed) {
		t.Errorf("park after the cleanup: %v, want sqs.ErrPoisonQueueClosed", err)
	}
}
