package dynamodb

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Config configures a Store.
type Config struct {
	// Table is the name of the connections table (CONNECTIONS_TABLE_NAME). Required.
	Table string
	// UserKey is the name of the table's hash key, a string. Empty means
	// DefaultUserKey.
	UserKey string
	// ConnectionKey is the name of the table's range key, a string. Empty means
	// DefaultConnectionKey.
	ConnectionKey string
	// ConnectedAtAttribute is the attribute AddConnection writes the time of the
	// connection to, in epoch seconds, and that reads and prunes use to keep a
	// connection young enough to be still in $connect. Empty means
	// DefaultConnectedAtAttribute.
	ConnectedAtAttribute string
	// TTLAttribute, with TTL, is the attribute AddConnection writes the connection's
	// expiry to, in epoch seconds, for the table's Time to Live to remove the connections
	// whose $disconnect never came. Empty writes none.
	TTLAttribute string
	// TTL is how long after AddConnection a connection expires; it goes with
	// TTLAttribute, and must be at least a second.
	TTL time.Duration
	// PageSize is the Limit of one Query or Scan page, so the most connections a scan
	// hands over at once. Zero means DefaultPageSize.
	PageSize int32
	// ScanSegments is how many segments of a parallel Scan read the table at once.
	// Zero means DefaultScanSegments.
	ScanSegments int
	// SubscriptionsTable is the name of the table of topic subscriptions
	// (SUBSCRIPTIONS_TABLE_NAME): hash key "topic", range key "connection_id", with the
	// index SubscriptionsIndex (see the package documentation). Empty means no topics:
	// the store answers handlers.ErrNoTopics and uses the connections table alone.
	SubscriptionsTable string
	// SubscriptionsIndex is the name of the subscriptions table's global secondary
	// index of hash key "connection_id" and range key "topic". Empty means
	// DefaultSubscriptionsIndex; it goes with SubscriptionsTable.
	SubscriptionsIndex string
}

// The defaults of Config: the connections table's key names as deploy/ creates the
// table, which USER_KEY and CONNECTION_KEY (see cmd/pusher/settings) default to as well.
const (
	// DefaultUserKey is UserKey's default: the connections table's hash key.
	DefaultUserKey = "user_id"
	// DefaultConnectionKey is ConnectionKey's default: the connections table's range key.
	DefaultConnectionKey = "connection_id"
	// DefaultConnectedAtAttribute is ConnectedAtAttribute's default.
	DefaultConnectedAtAttribute = "connected_at"
	// DefaultPageSize is PageSize's default: a page of keys stays far below DynamoDB's
	// 1 MB page, and a recipients page made of it far below an SQS message.
	DefaultPageSize = 500
	// DefaultScanSegments is ScanSegments's default (SCAN_SEGMENTS).
	DefaultScanSegments = 4
	// DefaultSubscriptionsIndex is the name of the subscriptions table's index by
	// connection, as deploy/ creates it.
	DefaultSubscriptionsIndex = "by-connection"
)

// The attributes of a subscription row: its keys, and the connection's user and time
// when they are known. The table is the pusher's own, so its names are fixed.
const (
	topicAttr          = "topic"
	subConnAttr        = "connection_id"
	subUserAttr        = "user_id"
	subConnectedAtAttr = "connected_at"
)

// maxScanSegments is DynamoDB's bound on TotalSegments.
const maxScanSegments = 1_000_000

func (c *Config) setDefaults() {
	c.UserKey = cmp.Or(c.UserKey, DefaultUserKey)
	c.ConnectionKey = cmp.Or(c.ConnectionKey, DefaultConnectionKey)
	c.ConnectedAtAttribute = cmp.Or(c.ConnectedAtAttribute, DefaultConnectedAtAttribute)
	c.PageSize = cmp.Or(c.PageSize, DefaultPageSize)
	c.ScanSegments = cmp.Or(c.ScanSegments, DefaultScanSegments)
	if c.SubscriptionsTable != "" {
		c.SubscriptionsIndex = cmp.Or(c.SubscriptionsIndex, DefaultSubscriptionsIndex)
	}
}

// Validate reports a configuration the store cannot run with. It checks the fields as
// they are, so a zero field that New would default is an error here only where no
// default exists.
func (c Config) Validate() error {
	var errs []error
	if c.Table == "" {
		errs = append(errs, errors.New("table name is empty (set CONNECTIONS_TABLE_NAME)"))
	}
	names := map[string]string{}
	for _, a := range []struct{ field, name string }{
		{"user key", c.UserKey},
		{"connection key", c.ConnectionKey},
		{"connected-at attribute", c.ConnectedAtAttribute},
		{"ttl attribute", c.TTLAttribute},
	} {
		if a.name == "" {
			continue
		}
		if other, ok := names[a.name]; ok {
			errs = append(errs, fmt.Errorf("%s and %s are both %q", other, a.field, a.name))
			continue
		}
		names[a.name] = a.field
	}
	switch {
	case c.TTL < 0:
		errs = append(errs, errors.New("ttl is negative"))
	case c.TTL > 0 && c.TTL < time.Second:
		errs = append(errs, fmt.Errorf("ttl %s is under a second, the resolution of DynamoDB's Time to Live", c.TTL))
	case c.TTL > 0 && c.TTLAttribute == "":
		errs = append(errs, errors.New("ttl is set without a ttl attribute to write it to"))
	case c.TTL == 0 && c.TTLAttribute != "":
		errs = append(errs, fmt.Errorf("ttl attribute %q is set without a ttl", c.TTLAttribute))
	}
	if c.PageSize < 0 {
		errs = append(errs, errors.New("page size is negative"))
	}
	if c.ScanSegments < 0 || c.ScanSegments > maxScanSegments {
		errs = append(errs, fmt.Errorf("scan segments %d is not within 0..%d", c.ScanSegments, maxScanSegments))
	}
	switch {
	case c.SubscriptionsTable == "" && c.SubscriptionsIndex != "":
		errs = append(errs, fmt.Errorf("subscriptions index %q is set without a subscriptions table", c.SubscriptionsIndex))
	case c.SubscriptionsTable != "" && c.SubscriptionsTable == c.Table:
		errs = append(errs, fmt.Errorf("the subscriptions table is the connections table %q: it needs a table of its own", c.Table))
	case c.SubscriptionsTable != "" && slices.Contains([]string{topicAttr, subConnAttr, subUserAttr, subConnectedAtAttr}, c.TTLAttribute):
		// Subscribe writes the TTL attribute to subscription rows too.
		errs = append(errs, fmt.Errorf("ttl attribute %q is an attribute of the subscriptions table", c.TTLAttribute))
	}
	return errors.Join(errs...)
}
