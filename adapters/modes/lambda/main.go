package lambda

import (
	"context"
	"fmt"
	"os"
	"time"

	awslambda "github.com/aws/aws-lambda-go/lambda"

	"github.com/apigw-pusher/apigw-pusher/adapters/modes/custom"
)

// Main runs the function, with the team's options, in the Lambda runtime: it reads the
// configuration from the environment, builds the function and starts its pipeline,
// making no network call (the first is the first invocation's), then serves invocations
// until the runtime ends the process. A bad setting ends the init with one line naming
// it.
func Main(opts ...custom.Option) {
	start := time.Now()
	fn, err := initFunction(start, custom.New(opts...))
	if err != nil {
		// Lambda reports the exit with the last lines written: this one names the cause.
		fmt.Fprintln(os.Stderr, "pusher-lambda:", err)
		os.Exit(1)
	}
	awslambda.StartHandlerFunc(fn.Handle)
}

func initFunction(start time.Time, o custom.Options) (*Function, error) {
	cfg, err := ConfigFromEnv(os.LookupEnv)
	if err != nil {
		return nil, err
	}
	logger := o.PickLogger(NewLogger(cfg, os.Stderr))
	// The pipeline lives as long as the execution environment: neither its context nor
	// the cleanup of its parts ever ends. Metrics go to stdout as EMF documents.
	ctx := context.Background()
	fn, _, err := Build(ctx, cfg, o, logger, os.Stdout)
	if err != nil {
		return nil, err
	}
	if _, err := fn.Start(ctx); err != nil {
		return nil, err
	}
	logger.Info("pusher-lambda ready", "init_ms", float64(time.Since(start).Microseconds())/1000)
	return fn, nil
}
