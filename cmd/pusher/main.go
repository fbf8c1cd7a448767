// Command pusher pushes notification requests to API Gateway WebSocket connections: see
// package cli for its subcommands, and for building a team's own pusher.
package main

import "github.com/apigw-pusher/apigw-pusher/cmd/pusher/cli"

func main() { cli.Main() }
