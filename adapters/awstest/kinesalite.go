package awstest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// KinesaliteInstall is the command, run in the module root, that installs kinesalite
// where Kinesalite looks for it. It names dynalite too: an npm install --no-save removes
// the packages of the folder it does not name.
const KinesaliteInstall = "npm install --prefix .ci --no-save --no-audit --no-fund dynalite@4.0.0 kinesalite@3.3.3"

// Kinesalite starts kinesalite, an in-memory Kinesis Data Streams emulator, on
// 127.0.0.1 until the test ends, and returns its endpoint URL, such as
// http://127.0.0.1:41234. It runs .ci/node_modules/kinesalite/cli.js of the module root
// with node, or the script that the environment variable KINESALITE_CLI names. A test
// that misses either fails, naming the command that installs kinesalite.
//
// kinesalite is not Kinesis; tests must mind that its stream ARNs name the account
// 000000000000, and that it has no enhanced fan-out (SubscribeToShard): records are
// read with GetShardIterator and GetRecords, as Lambda's standard iterator reads them.
func Kinesalite(t TB) string {
	t.Helper()
	node, cli := nodeCLI(t, "kinesalite", "KINESALITE_CLI", KinesaliteInstall)
	preload := filepath.Join(t.TempDir(), "kinesalite-preload.js")
	if err := os.WriteFile(preload, []byte(kinesalitePreload+dynalitePreload), 0o600); err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	// Streams leave the CREATING state after createStreamMs; kinesalite's 500ms default
	// would add half a second to every test that makes one.
	cmd := exec.Command(node, "--require", preload, cli,
		"--port", strconv.Itoa(port),
		"--createStreamMs", "0",
		"--deleteStreamMs", "0",
		"--updateStreamMs", "0",
	)
	// kinesalite names the region of its ARNs after the environment's.
	cmd.Env = append(os.Environ(), "AWS_REGION="+Region)
	Start(t, "kinesalite", cmd, port)
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

// kinesalitePreload makes kinesalite listen on 127.0.0.1 alone, as the other emulators
// do: its command has no --host, and listens on every interface. dynalitePreload follows
// it, since kinesalite 3.3.3 throws a request's errors from its handler as dynalite does
// (index.js: req.on('error', function(err) { throw err })).
const kinesalitePreload = `var http = require('http')
var listen = http.Server.prototype.listen
http.Server.prototype.listen = function (port, cb) {
  if (typeof port === 'number' || typeof port === 'string') return listen.call(this, port, '127.0.0.1', cb)
  return listen.apply(this, arguments)
}
`

// KinesisClient returns a Kinesis client of the emulator at endpoint, such as the one
// Kinesalite returns, with the static test credentials of Config.
func KinesisClient(endpoint string) *kinesis.Client {
	return kinesis.NewFromConfig(Config(), func(o *kinesis.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	})
}

// CreateStream creates the stream name of shards shards, provisioned, and returns its
// ARN once it is ACTIVE.
func CreateStream(t TB, client *kinesis.Client, name string, shards int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(int32(shards))})
	if err != nil {
		t.Fatalf("create stream %s: %v", name, err)
	}
	// The waiter's defaults poll every 10s, for streams that take a minute on AWS.
	waiter := kinesis.NewStreamExistsWaiter(client, func(o *kinesis.StreamExistsWaiterOptions) {
		o.MinDelay = 10 * time.Millisecond
		o.MaxDelay = 200 * time.Millisecond
	})
	out, err := waiter.WaitForOutput(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(name)}, 30*time.Second)
	if err != nil {
		t.Fatalf("wait for stream %s to be ACTIVE: %v", name, err)
	}
	return aws.ToString(out.StreamDescription.StreamARN)
}
