package promclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	jsoniter "github.com/json-iterator/go"
	"github.com/prometheus/common/model"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
)

// An answer of Prometheus's query API is read and decoded here, under the limits of
// svcconfig.PrometheusLimits, as it arrives: the body through a reader that fails past
// maxBodyBytes, the result one series at a time, counting series and samples. A query that
// makes the server answer hundreds of megabytes (label_join nested twenty times) or a server
// that sends a gigabyte fails at the limit, having cost about the limit in memory — never the
// whole answer read first and checked after (docs/design.md §8).

// LimitError is an answer refused for crossing one of limits.prometheus. QueryError wraps it
// with the server and the query.
type LimitError struct {
	// Field is the limit's name under limits.prometheus: maxBodyBytes, maxSeries or maxSamples.
	Field string
	// Max is the limit's value.
	Max int
}

func (e *LimitError) Error() string {
	var what string
	switch e.Field {
	case "maxBodyBytes":
		what = fmt.Sprintf("the answer is larger than %d bytes", e.Max)
	case "maxSeries":
		what = fmt.Sprintf("the answer has more than %d series", e.Max)
	default:
		what = fmt.Sprintf("the answer has more than %d samples", e.Max)
	}
	return what + " (limits.prometheus." + e.Field + "): narrow the query, or raise the limit in the service config"
}

// answerError is a failed answer: Prometheus's error type and message, and for an answer that
// is not the API's (a proxy's page, a 5xx) its status and the start of its body.
type answerError struct {
	Type   string
	Msg    string
	Detail string
}

func (e *answerError) Error() string {
	s := e.Type + ": " + e.Msg
	if d := strings.TrimSpace(e.Detail); d != "" {
		if len(d) > maxDetail {
			d = d[:maxDetail] + "…"
		}
		s += ": " + d
	}
	return s
}

// maxDetail is how much of a failed answer's body an error shows; maxErrorBody how much of it
// is read.
const (
	maxDetail          = 200
	maxErrorBody int64 = 64 << 10
)

// cappedBody reads at most max bytes of r; reading past them is a *LimitError, and stays one
// (a decoder may read again after an error it did not report).
type cappedBody struct {
	r    io.Reader
	left int64
	max  int
	over error
}

func capBody(r io.Reader, max int) *cappedBody {
	return &cappedBody{r: r, left: int64(max), max: max}
}

func (c *cappedBody) Read(p []byte) (int, error) {
	if c.over != nil {
		return 0, c.over
	}
	if c.left <= 0 {
		// At the cap: one more byte means the answer is larger.
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			c.over = &LimitError{Field: "maxBodyBytes", Max: c.max}
			return 0, c.over
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// readAnswer turns an HTTP answer of the query API into a value and its warnings. Prometheus
// answers 400 and 422 with its error document; any other status outside 2xx, or an error
// answer that is not the API's document (a proxy's page), is reported with the start of its
// body.
func readAnswer(resp *http.Response, lim svcconfig.PrometheusLimits) (model.Value, []string, error) {
	code := resp.StatusCode
	if code/100 == 2 {
		v, warnings, err := decodeAnswer(capBody(resp.Body, lim.MaxBodyBytes), lim)
		var (
			le *LimitError
			ae *answerError
		)
		switch {
		case errors.As(err, &le):
			return nil, warnings, le
		case errors.As(err, &ae):
			return nil, warnings, ae
		case err != nil:
			return nil, warnings, &answerError{Type: "bad_response", Msg: err.Error()}
		}
		return v, warnings, nil
	}
	typ, msg := "bad_response", fmt.Sprintf("bad response code %d", code)
	switch code / 100 {
	case 4:
		typ, msg = "client_error", fmt.Sprintf("client error: %d", code)
	case 5:
		typ, msg = "server_error", fmt.Sprintf("server error: %d", code)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, min(maxErrorBody, int64(lim.MaxBodyBytes))))
	if code == http.StatusBadRequest || code == http.StatusUnprocessableEntity {
		_, warnings, err := decodeAnswer(bytes.NewReader(body), lim)
		var ae *answerError
		if errors.As(err, &ae) {
			return nil, warnings, ae
		}
	}
	return nil, nil, &answerError{Type: typ, Msg: msg, Detail: string(body)}
}

// envelope is the query API's document around the data.
type envelope struct {
	status    string
	errorType string
	error     string
	warnings  []string
	value     model.Value
	hasData   bool
}

// decodeAnswer decodes the query API's document from r, the data as it streams.
func decodeAnswer(r io.Reader, lim svcconfig.PrometheusLimits) (model.Value, []string, error) {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return nil, nil, err
	}
	var env envelope
	for dec.More() {
		key, err := stringToken(dec)
		if err != nil {
			return nil, env.warnings, err
		}
		switch key {
		case "status":
			err = dec.Decode(&env.status)
		case "errorType":
			err = dec.Decode(&env.errorType)
		case "error":
			err = dec.Decode(&env.error)
		case "warnings":
			err = dec.Decode(&env.warnings)
		case "data":
			env.hasData = true
			env.value, err = decodeData(dec, lim)
		default: // infos, stats, and whatever a later version adds
			err = skipValue(dec)
		}
		if err != nil {
			return nil, env.warnings, err
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, env.warnings, err
	}
	switch env.status {
	case "success":
		if !env.hasData {
			return nil, env.warnings, errors.New("the answer has no data")
		}
		return env.value, env.warnings, nil
	case "error":
		typ := env.errorType
		if typ == "" {
			typ = "client_error"
		}
		return nil, env.warnings, &answerError{Type: typ, Msg: env.error}
	default:
		return nil, env.warnings, fmt.Errorf("the answer's status is %q, want success or error", env.status)
	}
}

// decodeData decodes {"resultType": …, "result": …}. Prometheus writes resultType first; a
// result that comes before it is held (within the body's cap) until the type is known.
func decodeData(dec *json.Decoder, lim svcconfig.PrometheusLimits) (model.Value, error) {
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	var (
		typ    string
		held   json.RawMessage
		value  model.Value
		result bool
	)
	for dec.More() {
		key, err := stringToken(dec)
		if err != nil {
			return nil, err
		}
		switch {
		case key == "resultType":
			err = dec.Decode(&typ)
		case key == "result" && typ != "":
			value, err = decodeResult(dec, typ, lim)
			result = true
		case key == "result":
			err = dec.Decode(&held)
			result = true
		default:
			err = skipValue(dec)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	switch {
	case !result:
		return nil, errors.New("the answer's data has no result")
	case held != nil:
		return decodeResult(json.NewDecoder(strings.NewReader(string(held))), typ, lim)
	}
	return value, nil
}

// decodeResult decodes a result of the given type, counting series and samples as they come.
func decodeResult(dec *json.Decoder, typ string, lim svcconfig.PrometheusLimits) (model.Value, error) {
	switch typ {
	case "scalar":
		var s model.Scalar
		if err := dec.Decode(&s); err != nil {
			return nil, err
		}
		return &s, nil
	case "string":
		var s model.String
		if err := dec.Decode(&s); err != nil {
			return nil, err
		}
		return &s, nil
	case "vector":
		vec := model.Vector{}
		err := eachSeries(dec, lim, func(raw []byte) (int, error) {
			var s model.Sample
			if err := seriesJSON.Unmarshal(raw, &s); err != nil {
				return 0, err
			}
			vec = append(vec, &s)
			return 1, nil
		})
		return vec, err
	case "matrix":
		mat := model.Matrix{}
		err := eachSeries(dec, lim, func(raw []byte) (int, error) {
			var s model.SampleStream
			if err := seriesJSON.Unmarshal(raw, &s); err != nil {
				return 0, err
			}
			mat = append(mat, &s)
			return len(s.Values) + len(s.Histograms), nil
		})
		return mat, err
	default:
		return nil, fmt.Errorf("unknown result type %q", typ)
	}
}

// seriesJSON decodes one series, once the stream has cut it out. It is json-iterator, as
// Prometheus's own client decodes answers: its decoders for the sample types (registered by
// client_golang's api/prometheus/v1, which this package imports) are several times faster than
// the types' UnmarshalJSON on a range query's points.
var seriesJSON = jsoniter.ConfigCompatibleWithStandardLibrary

// eachSeries reads a list of series one at a time and hands each, as JSON, to one, which
// decodes it and reports its samples; past maxSeries series or maxSamples samples it stops
// with a *LimitError before reading on.
func eachSeries(dec *json.Decoder, lim svcconfig.PrometheusLimits, one func(raw []byte) (int, error)) error {
	if err := expectDelim(dec, '['); err != nil {
		return err
	}
	series, samples := 0, 0
	var raw json.RawMessage
	for dec.More() {
		if series == lim.MaxSeries {
			return &LimitError{Field: "maxSeries", Max: lim.MaxSeries}
		}
		raw = raw[:0]
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		n, err := one(raw)
		if err != nil {
			return err
		}
		series++
		if samples += n; samples > lim.MaxSamples {
			return &LimitError{Field: "maxSamples", Max: lim.MaxSamples}
		}
	}
	return expectDelim(dec, ']')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("invalid answer: want %q, got %v", want, tok)
	}
	return nil
}

func stringToken(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("invalid answer: want a key, got %v", tok)
	}
	return s, nil
}

// skipValue reads past one value without keeping it.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}
