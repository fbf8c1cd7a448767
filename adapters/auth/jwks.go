package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// jwksTimeout bounds one fetch of a JWK set, and the wait for the right to fetch it
// for an unknown key id.
const jwksTimeout = 5 * time.Second

// jwksKeys are the public keys of a JWK set, fetched once at start, again every
// JWKSRefresh, and for a key id they do not hold, at most once per JWKSMinRefresh
// (keyfunc and jwkset do the fetching and caching). They remember whether the last
// fetch failed, so that a token whose key cannot be found is told apart from one whose
// keys could not be fetched.
type jwksKeys struct {
	keyfunc keyfunc.Keyfunc

	mu      sync.Mutex
	lastErr error // of the last fetch; nil once one succeeded
}

// newJWKSKeys fetches the JWK set at cfg.JWKSURL with client, and refreshes it until
// ctx is done. A set that cannot be fetched now is no error: tokens are then answered
// as unavailable until it can.
func newJWKSKeys(ctx context.Context, cfg VerifierConfig, client *http.Client) (*jwksKeys, error) {
	k := &jwksKeys{}
	remote, err := jwkset.NewStorageFromHTTP(cfg.JWKSURL, jwkset.HTTPClientStorageOptions{
		Client:                    client,
		Ctx:                       ctx,
		HTTPTimeout:               jwksTimeout,
		NoErrorReturnFirstHTTPReq: true,
		RefreshErrorHandler:       k.failed,
		RefreshInterval:           cfg.JWKSRefresh,
		Storage:                   fetchedStorage{Storage: jwkset.NewMemoryStorage(), fetched: k.fetched},
	})
	if err != nil {
		return nil, fmt.Errorf("JWK set %s: %w", cfg.JWKSURL, err)
	}
	storage, err := jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs:          map[string]jwkset.Storage{cfg.JWKSURL: remote},
		RateLimitWaitMax:  jwksTimeout,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(cfg.JWKSMinRefresh), 1),
	})
	if err != nil {
		return nil, fmt.Errorf("JWK set %s: %w", cfg.JWKSURL, err)
	}
	k.keyfunc, err = keyfunc.New(keyfunc.Options{
		Ctx:     ctx,
		Storage: storage,
		// A key meant for encryption does not verify signatures; many sets leave use out.
		UseWhitelist: []jwkset.USE{jwkset.UseSig, ""},
	})
	if err != nil {
		return nil, fmt.Errorf("JWK set %s: %w", cfg.JWKSURL, err)
	}
	return k, nil
}

// errKeyNotFound is a token's key not found in the JWK set: its kid is unknown, or it
// has none and the set holds no key.
var errKeyNotFound = errors.New("no key in the JWK set for the token")

// keyfuncCtx returns the jwt.Keyfunc that finds a token's key, fetching the set within
// ctx when the key id is unknown. A token without kid is tried with every key.
func (k *jwksKeys) keyfuncCtx(ctx context.Context) jwt.Keyfunc {
	find := k.keyfunc.KeyfuncCtx(ctx)
	return func(token *jwt.Token) (any, error) {
		key, err := find(token)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errKeyNotFound, err)
		}
		if set, ok := key.(jwt.VerificationKeySet); ok && len(set.Keys) == 0 {
			return nil, fmt.Errorf("%w: it has no kid and the set no key", errKeyNotFound)
		}
		return key, nil
	}
}

// err returns the error of the last fetch, nil if it succeeded.
func (k *jwksKeys) err() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.lastErr
}

func (k *jwksKeys) failed(_ context.Context, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.lastErr = err
}

func (k *jwksKeys) fetched() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.lastErr = nil
}

// fetchedStorage is the store of a fetched JWK set: jwkset replaces its keys only
// after a fetch that succeeded, and reports only the ones that failed.
type fetchedStorage struct {
	jwkset.Storage
	fetched func()
}

// KeyReplaceAll stores a newly fetched set and notes that the fetch succeeded.
func (s fetchedStorage) KeyReplaceAll(ctx context.Context, given []jwkset.JWK) error {
	if err := s.Storage.KeyReplaceAll(ctx, given); err != nil {
		return err
	}
	s.fetched()
	return nil
}
