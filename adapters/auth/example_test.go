package auth_test

import (
	"context"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/apigw-pusher/apigw-pusher/adapters/auth"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// A deployment opens news to everyone and each user's own topics to that user, and
// takes subscription tokens signed with its secret for the rest.
func ExampleRules() {
	ctx := context.Background()
	secret := "the deployment's secret, 32 bytes or more"
	rules, err := auth.NewRules(ctx, auth.Config{
		Public:     []string{"news:*"},
		UserScoped: []string{"user:{user}:*"},
		Token:      auth.VerifierConfig{Secret: secret},
	}, nil)
	if err != nil {
		panic(err)
	}
	// What the deployment's backend hands alice to follow order 42.
	token, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub":    "alice",
		"exp":    time.Now().Add(10 * time.Minute).Unix(),
		"topics": []string{"order:42"},
	}).SignedString([]byte(secret))

	alice := handlers.Connection{UserID: "alice", ConnectionID: "c1"}
	for _, req := range []handlers.TopicRequest{
		{Connection: alice, Topic: "news:today"},
		{Connection: alice, Topic: "user:alice:inbox"},
		{Connection: alice, Topic: "user:bob:inbox"},
		{Connection: alice, Topic: "order:42", Token: token},
		{Connection: alice, Topic: "order:43", Token: token},
	} {
		fmt.Printf("%s: %v\n", req.Topic, rules.AuthorizeTopic(ctx, req))
	}
	// Output:
	// news:today: <nil>
	// user:alice:inbox: <nil>
	// user:bob:inbox: "user:bob:inbox" may not be followed: not public; not the user's own; no subscription token
	// order:42: <nil>
	// order:43: "order:43" may not be followed: not public; not the user's own; the token does not grant it
}
