package dynamodb

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// API is the part of the DynamoDB client that a Store uses; *ddb.Client implements it.
type API interface {
	PutItem(ctx context.Context, in *ddb.PutItemInput, optFns ...func(*ddb.Options)) (*ddb.PutItemOutput, error)
	GetItem(ctx context.Context, in *ddb.GetItemInput, optFns ...func(*ddb.Options)) (*ddb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *ddb.UpdateItemInput, optFns ...func(*ddb.Options)) (*ddb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *ddb.DeleteItemInput, optFns ...func(*ddb.Options)) (*ddb.DeleteItemOutput, error)
	BatchWriteItem(ctx context.Context, in *ddb.BatchWriteItemInput, optFns ...func(*ddb.Options)) (*ddb.BatchWriteItemOutput, error)
	Query(ctx context.Context, in *ddb.QueryInput, optFns ...func(*ddb.Options)) (*ddb.QueryOutput, error)
	Scan(ctx context.Context, in *ddb.ScanInput, optFns ...func(*ddb.Options)) (*ddb.ScanOutput, error)
}

// Store is the connection store on a DynamoDB table, and the store of topic
// subscriptions on a second one when configured, safe for concurrent use; see the
// package documentation for its reads, prunes, subscriptions and retries.
type Store struct {
	client API
	cfg    Config
	// projection and names read the two keys and the connected-at attribute, through
	// expression attribute names so that a name like a reserved word still parses.
	projection string
	names      map[string]string
	now        func() time.Time
	prunes     pruneQueue
}

var (
	_ handlers.ConnectionLister  = (*Store)(nil)
	_ handlers.ConnectionDeleter = (*Store)(nil)
)

// New returns a Store on the table of cfg, through client, usually a *ddb.Client.
func New(client API, cfg Config) (*Store, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("dynamodb store config: %w", err)
	}
	if client == nil {
		return nil, fmt.Errorf("dynamodb store: client is nil")
	}
	return &Store{
		client:     client,
		cfg:        cfg,
		projection: "#u, #c, #t",
		names:      map[string]string{"#u": cfg.UserKey, "#c": cfg.ConnectionKey, "#t": cfg.ConnectedAtAttribute},
		now:        time.Now,
	}, nil
}

// AddConnection stores c with the time it connected (its ConnectedAt, or now) and, when
// the config has a TTL, the time it expires (TTL from now); storing it again replaces
// it. With a subscriptions table, it first writes the connection's record there (see
// Connection), which a failed write of the row takes back. It is the $connect route's
// call, outside the pipeline: the client's own retryer retries it.
func (s *Store) AddConnection(ctx context.Context, c handlers.Connection) error {
	now := s.now()
	if c.ConnectedAt.IsZero() {
		c.ConnectedAt = now
	}
	if s.cfg.SubscriptionsTable != "" {
		if err := s.putRecord(ctx, c, now); err != nil {
			return fmt.Errorf("add connection %s of %s: %w", c.ConnectionID, c.UserID, err)
		}
	}
	item := s.key(c)
	item[s.cfg.ConnectedAtAttribute] = epoch(c.ConnectedAt)
	if s.cfg.TTLAttribute != "" && s.cfg.TTL > 0 {
		item[s.cfg.TTLAttribute] = epoch(now.Add(s.cfg.TTL))
	}
	_, err := s.client.PutItem(ctx, &ddb.PutItemInput{TableName: aws.String(s.cfg.Table), Item: item})
	if err != nil {
		if s.cfg.SubscriptionsTable != "" {
			_, _ = s.client.DeleteItem(ctx, &ddb.DeleteItemInput{ // best effort; the TTL is the backstop
				TableName: aws.String(s.cfg.SubscriptionsTable), Key: s.recordKey(c.ConnectionID)})
		}
		return fmt.Errorf("add connection %s of %s: %w", c.ConnectionID, c.UserID, classify(err))
	}
	return nil
}

// RemoveConnection deletes c's row, its subscriptions and its record. c's user may be
// unknown (API Gateway's $disconnect carries none without an authorizer): with a
// subscriptions table, the connection's record names it, or says it has none. Without
// one, a c without a user is taken for a connection without a user, whose row is
// addressed by its id alone (see anonymousPrefix): if it was a user's, that DeleteItem
// of an absent key costs a write capacity unit and deletes nothing, and the user's row
// is left to the table's TTL, or to the prune stage once a post to it is answered 410.
// It is the $disconnect route's call, outside the pipeline: the client's own retryer
// retries it.
func (s *Store) RemoveConnection(ctx context.Context, c handlers.Connection) error {
	var followed []string
	if s.cfg.SubscriptionsTable != "" && c.ConnectionID != "" {
		rec, found, err := s.record(ctx, c.ConnectionID)
		if err != nil {
			return fmt.Errorf("remove connection %s of %s: %w", c.ConnectionID, c.UserID, err)
		}
		if found {
			c.UserID = cmp.Or(c.UserID, rec.UserID)
			followed = rec.topics
		}
	}
	if storable(c) {
		_, err := s.client.DeleteItem(ctx, &ddb.DeleteItemInput{TableName: aws.String(s.cfg.Table), Key: s.key(c)})
		if err != nil {
			return fmt.Errorf("remove connection %s of %s: %w", c.ConnectionID, c.UserID, classify(err))
		}
	}
	if err := s.forget(ctx, []string{c.ConnectionID}, followed, true); err != nil {
		return fmt.Errorf("remove connection %s of %s: %w", c.ConnectionID, c.UserID, err)
	}
	return nil
}

// UserConnections returns every connection of one user. It queries the user's
// partition a page at a time, with eventually consistent reads: a connection made a
// moment ago may be missed, as it may be on any read of a live table.
func (s *Store) UserConnections(ctx context.Context, userID string) ([]handlers.Connection, error) {
	if userID == "" || handlers.ReservedUser(userID) {
		// DynamoDB refuses an empty key, so no connection can have it; and a reserved id
		// names no user: the partition of a connection without one is no user's.
		return nil, nil
	}
	in := &ddb.QueryInput{
		TableName:                 aws.String(s.cfg.Table),
		KeyConditionExpression:    aws.String("#u = :u"),
		ExpressionAttributeNames:  s.names,
		ExpressionAttributeValues: map[string]types.AttributeValue{":u": &types.AttributeValueMemberS{Value: userID}},
		ProjectionExpression:      aws.String(s.projection),
		Limit:                     aws.Int32(s.cfg.PageSize),
		ConsistentRead:            aws.Bool(false),
	}
	var conns []handlers.Connection
	for {
		out, err := s.client.Query(ctx, in, oneAttempt)
		if err != nil {
			return nil, fmt.Errorf("query connections of %s: %w", userID, classify(err))
		}
		page, err := s.connections(out.Items)
		if err != nil {
			return nil, fmt.Errorf("query connections of %s: %w", userID, err)
		}
		conns = append(conns, page...)
		if len(out.LastEvaluatedKey) == 0 {
			return conns, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// anonymousPrefix starts the hash key of a connection without a user: DynamoDB refuses
// an empty key, so such a connection is stored under anonymousPrefix + its id, one
// partition each (no hot partition however many connect at once), and read back
// without a user (see userOf). No request or client names a user starting with
// handlers.ReservedUserPrefix, so none reaches it through users.
const anonymousPrefix = handlers.ReservedUserPrefix + "anonymous:"

// hashKey returns the table's hash key of c: its user, or, without one, its
// anonymousPrefix key.
func hashKey(c handlers.Connection) string {
	if c.UserID == "" {
		return anonymousPrefix + c.ConnectionID
	}
	return c.UserID
}

// userOf returns the user of the row of hash key and connection id: none for the key
// hashKey gives a connection without a user, else the key.
func userOf(hash, id string) string {
	if hash == anonymousPrefix+id {
		return ""
	}
	return hash
}

// key returns the table key of c.
func (s *Store) key(c handlers.Connection) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		s.cfg.UserKey:       &types.AttributeValueMemberS{Value: hashKey(c)},
		s.cfg.ConnectionKey: &types.AttributeValueMemberS{Value: c.ConnectionID},
	}
}

// connections reads the keys and connected-at times of items.
func (s *Store) connections(items []map[string]types.AttributeValue) ([]handlers.Connection, error) {
	conns := make([]handlers.Connection, 0, len(items))
	for _, item := range items {
		user, err := stringAttr(item, s.cfg.UserKey)
		if err != nil {
			return nil, err
		}
		conn, err := stringAttr(item, s.cfg.ConnectionKey)
		if err != nil {
			return nil, err
		}
		conns = append(conns, handlers.Connection{UserID: userOf(user, conn), ConnectionID: conn, ConnectedAt: epochAttr(item, s.cfg.ConnectedAtAttribute)})
	}
	return conns, nil
}

// epochAttr returns the time in epoch seconds of the number attribute name of item, to
// the second. A row without it (the Python original's $connect writes none) or with
// something else there has no known time: zero.
func epochAttr(item map[string]types.AttributeValue, name string) time.Time {
	n, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return time.Time{}
	}
	secs, err := strconv.ParseFloat(n.Value, 64)
	if err != nil || secs <= 0 || secs > maxEpoch {
		return time.Time{}
	}
	return time.Unix(int64(secs), 0)
}

// maxEpoch bounds the epoch seconds taken for a time: the year 9999, past which a number
// is no time a connection was made.
const maxEpoch = 253_402_300_799

// stringAttr returns the string attribute name of item. Its absence or another type
// means the table is not keyed as configured, which no retry mends.
func stringAttr(item map[string]types.AttributeValue, name string) (string, error) {
	switch v := item[name].(type) {
	case *types.AttributeValueMemberS:
		return v.Value, nil
	case nil:
		return "", handlers.Permanent(fmt.Errorf("item has no attribute %q", name))
	default:
		return "", handlers.Permanent(fmt.Errorf("attribute %q is a %T, not a string", name, v))
	}
}

// storable reports whether c could be in the table: DynamoDB refuses an empty key, and
// a c without a user has its anonymousPrefix key.
func storable(c handlers.Connection) bool { return c.ConnectionID != "" }

func epoch(t time.Time) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(t.Unix(), 10)}
}
