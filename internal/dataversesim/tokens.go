package dataversesim

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// signer issues and verifies the simulator's access tokens (RS256, like Entra ID).
type signer struct {
	key *rsa.PrivateKey
	kid string
}

func newSigner() (*signer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	return &signer{key: key, kid: "sim-signing-key"}, nil
}

// accessClaims are the claims Dataverse reads from an access token.
type accessClaims struct {
	jwt.RegisteredClaims
	TenantID string `json:"tid"`
	ObjectID string `json:"oid"`
	AppID    string `json:"appid,omitempty"`
	UPN      string `json:"upn,omitempty"`
	// AuthorizedParty is the client the token was issued to.
	AuthorizedParty string `json:"azp,omitempty"`
	Version         string `json:"ver"`
}

func (s *signer) issue(c accessClaims) (string, error) {
	// Entra ID writes a single audience as a string, and MSAL reads id_token's aud as
	// one; ClaimStrings would write an array.
	raw, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	claims := jwt.MapClaims{}
	if err := json.Unmarshal(raw, &claims); err != nil {
		return "", err
	}
	if len(c.Audience) == 1 {
		claims["aud"] = c.Audience[0]
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = s.kid
	return tok.SignedString(s.key)
}

// verify checks the signature and the time claims of an access token.
func (s *signer) verify(raw string, now time.Time) (*accessClaims, error) {
	c := &accessClaims{}
	_, err := jwt.ParseWithClaims(raw, c, func(*jwt.Token) (any, error) { return &s.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithExpirationRequired())
	if err != nil {
		return nil, err
	}
	return c, nil
}

// jwks is the public signing key in JSON Web Key Set form.
func (s *signer) jwks() map[string]any {
	pub := s.key.PublicKey
	return map[string]any{"keys": []map[string]any{{
		"kty": "RSA", "use": "sig", "kid": s.kid, "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}}
}

// oidcScopes are the scopes MSAL adds to every request; they name no resource.
var oidcScopes = map[string]bool{"openid": true, "profile": true, "offline_access": true, "email": true}

// audienceOf turns a requested scope into the resource the token is for:
// "https://host/org/.default" → "https://host/org". An application signing in as itself
// (client credentials) may only ask for /.default, as in Entra ID.
func audienceOf(scope string, appOnly bool) (string, *oauthError) {
	for _, s := range strings.Fields(scope) {
		if oidcScopes[s] {
			continue
		}
		if resource, ok := strings.CutSuffix(s, "/.default"); ok {
			return resource, nil
		}
		if appOnly {
			return "", &oauthError{http.StatusBadRequest, "invalid_scope", fmt.Sprintf("AADSTS1002012: The provided value for scope %s is not valid. "+
				"Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", s)}
		}
		if resource, ok := strings.CutSuffix(s, "/user_impersonation"); ok {
			return resource, nil
		}
	}
	return "", &oauthError{http.StatusBadRequest, "invalid_scope", "AADSTS70011: The provided value for the input parameter 'scope' is not valid."}
}

// newID returns a random GUID in Dataverse's lower-case form.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
