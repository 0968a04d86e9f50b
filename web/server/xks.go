package server

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// isXKSPath reports whether a path is in the External Key Store Proxy API:
// {prefix}/kms/xks/v1/... .
func isXKSPath(p string) bool { return strings.Contains(p, "/kms/xks/v") }

// serveXKS answers a request for one of the sandbox's simulated XKS
// proxies, so that any XKS client (curl --aws-sigv4, a proxy test suite)
// can call them over HTTP as it would a real proxy. The request is handed
// to the engine through Simulator.XksProxyRequest: the proxy is the one
// whose host name the Host header names, or else the one serving the path.
// The client signs with SigV4 for service kms-xks-proxy and the sandbox's
// Region, with the Host it sends.
func (s *Server) serveXKS(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	label := "XKS " + r.Method + " " + r.URL.Path
	body, apiErr := readBody(r)
	if apiErr != nil {
		writeXKSError(w, apiErr.status, "ValidationException", "the request body is too large")
		s.logf(label, apiErr.status, time.Since(start), nil)
		return
	}
	headers := map[string]string{}
	for k, v := range r.Header {
		headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	if r.ContentLength > 0 { // net/http keeps it out of Header; clients may sign it
		headers["content-length"] = strconv.FormatInt(r.ContentLength, 10)
	}
	req, _ := json.Marshal(map[string]any{"Method": r.Method, "Host": r.Host, "Path": r.URL.Path,
		"Query": r.URL.RawQuery, "Headers": headers, "Body": body})
	status, resp := s.call("Simulator.XksProxyRequest", req)
	if status != http.StatusOK {
		var e struct{ Message string }
		_ = json.Unmarshal(resp, &e)
		writeXKSError(w, http.StatusBadGateway, "InternalException", e.Message)
		s.logf(label, http.StatusBadGateway, time.Since(start), nil)
		return
	}
	var out struct {
		Status  int
		Headers map[string]string
		Body    []byte
	}
	if err := json.Unmarshal(resp, &out); err != nil || out.Status == 0 {
		writeXKSError(w, http.StatusBadGateway, "InternalException", "the engine's answer could not be read")
		s.logf(label, http.StatusBadGateway, time.Since(start), nil)
		return
	}
	for k, v := range out.Headers {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(out.Body)))
	w.WriteHeader(out.Status)
	w.Write(out.Body)
	s.logf(label, out.Status, time.Since(start), nil)
}

func writeXKSError(w http.ResponseWriter, status int, name, message string) {
	body, _ := json.Marshal(map[string]string{"errorName": name, "errorMessage": message})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}
