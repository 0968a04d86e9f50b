package engine

import (
	"encoding/json"
	"math"
	"slices"
	"time"

	"keystorelab/hsmsim/wire"
)

// The AWS/KMS metrics Keystore Lab records, on the virtual clock.
const (
	MetricXksProxyLatency                 = "XksProxyLatency"
	MetricXksProxyErrors                  = "XksProxyErrors"
	MetricXksExternalKeyManagerStates     = "XksExternalKeyManagerStates"
	MetricXksProxyCredentialAge           = "XksProxyCredentialAge"
	MetricXksProxyCertificateDaysToExpire = "XksProxyCertificateDaysToExpire"
	MetricExternalKeyStoreThrottle        = "ExternalKeyStoreThrottle"
	MetricCloudHSMKeyStoreThrottle        = "CloudHSMKeyStoreThrottle"
)

var metricNames = []string{MetricXksProxyLatency, MetricXksProxyErrors, MetricXksExternalKeyManagerStates,
	MetricXksProxyCredentialAge, MetricXksProxyCertificateDaysToExpire, MetricExternalKeyStoreThrottle,
	MetricCloudHSMKeyStoreThrottle}

// metricRetention is how long CloudWatch keeps these metrics for the KMS
// console: two weeks.
const metricRetention = 14 * 24 * time.Hour

// healthCheckInterval is how often KMS probes a connected external key
// store's proxy (KmsOperation KmsHealthCheck).
const healthCheckInterval = time.Minute

// dims is a metric's dimensions. Empty fields are absent. It is a
// comparable struct so that recording a data point does not allocate.
type dims struct {
	CustomKeyStoreId           string
	KmsOperation               string
	XksOperation               string
	KeySpec                    string
	ErrorType                  string
	ExceptionName              string
	XksExternalKeyManagerState string
	CertificateName            string
}

func (d dims) get(name string) (string, bool) {
	switch name {
	case "CustomKeyStoreId":
		return d.CustomKeyStoreId, d.CustomKeyStoreId != ""
	case "KmsOperation":
		return d.KmsOperation, d.KmsOperation != ""
	case "XksOperation":
		return d.XksOperation, d.XksOperation != ""
	case "KeySpec":
		return d.KeySpec, d.KeySpec != ""
	case "ErrorType":
		return d.ErrorType, d.ErrorType != ""
	case "ExceptionName":
		return d.ExceptionName, d.ExceptionName != ""
	case "XksExternalKeyManagerState":
		return d.XksExternalKeyManagerState, d.XksExternalKeyManagerState != ""
	case "CertificateName":
		return d.CertificateName, d.CertificateName != ""
	}
	return "", false
}

var dimensionNames = []string{"CustomKeyStoreId", "KmsOperation", "XksOperation", "KeySpec", "ErrorType",
	"ExceptionName", "XksExternalKeyManagerState", "CertificateName"}

func (d dims) asMap() map[string]string {
	out := map[string]string{}
	for _, n := range dimensionNames {
		if v, ok := d.get(n); ok {
			out[n] = v
		}
	}
	return out
}

func dimsFrom(m map[string]string) dims {
	return dims{m["CustomKeyStoreId"], m["KmsOperation"], m["XksOperation"], m["KeySpec"], m["ErrorType"],
		m["ExceptionName"], m["XksExternalKeyManagerState"], m["CertificateName"]}
}

type seriesKey struct {
	name string
	d    dims
}

// stat is the statistic set of one minute of one series.
type stat struct {
	Sum, Min, Max float64
	Count         int64
}

func (s *stat) add(v float64) {
	if s.Count == 0 || v < s.Min {
		s.Min = v
	}
	if s.Count == 0 || v > s.Max {
		s.Max = v
	}
	s.Sum += v
	s.Count++
}

func (s *stat) merge(o stat) {
	if o.Count == 0 {
		return
	}
	if s.Count == 0 || o.Min < s.Min {
		s.Min = o.Min
	}
	if s.Count == 0 || o.Max > s.Max {
		s.Max = o.Max
	}
	s.Sum += o.Sum
	s.Count += o.Count
}

// series is one metric with one set of dimensions: per-minute statistics,
// minutes in ascending order.
type series struct {
	minutes []int64 // Unix minutes
	stats   []stat
}

// metrics is the sandbox's CloudWatch: data points at one-minute
// resolution, kept for two weeks of virtual time.
type metrics struct {
	series map[seriesKey]*series
	pruned int64 // the Unix minute of the last pruning
}

func newMetrics() *metrics { return &metrics{series: map[seriesKey]*series{}} }

// record adds one data point.
func (m *metrics) record(at time.Time, name string, d dims, v float64) {
	minute := at.Unix() / 60
	k := seriesKey{name, d}
	s := m.series[k]
	if s == nil {
		s = &series{}
		m.series[k] = s
	}
	n := len(s.minutes)
	switch {
	case n > 0 && s.minutes[n-1] == minute:
	case n == 0 || s.minutes[n-1] < minute:
		s.minutes = append(s.minutes, minute)
		s.stats = append(s.stats, stat{})
	default: // virtual time never goes back, but be safe
		i, found := slices.BinarySearch(s.minutes, minute)
		if !found {
			s.minutes = slices.Insert(s.minutes, i, minute)
			s.stats = slices.Insert(s.stats, i, stat{})
		}
		s.stats[i].add(v)
		return
	}
	s.stats[len(s.stats)-1].add(v)
	if minute-m.pruned >= 60 {
		m.prune(minute)
	}
}

// prune drops data older than the retention period and rolls older data
// up, as the console's graphs read it: one-minute points for the last three
// hours, five-minute points for the rest of the last day, hourly points
// before that. A sandbox whose external key store stays connected for two
// weeks keeps about 750 points a series, not 20,160.
func (m *metrics) prune(minute int64) {
	m.pruned = minute
	oldest := minute - int64(metricRetention/time.Minute)
	for k, s := range m.series {
		i, _ := slices.BinarySearch(s.minutes, oldest)
		if i == len(s.minutes) {
			delete(m.series, k)
			continue
		}
		s.minutes, s.stats = rollUp(s.minutes[i:], s.stats[i:], minute)
	}
}

// rollUp merges the points of one series into the buckets their age calls
// for (see prune). Minutes are ascending, so each bucket's points are
// adjacent.
func rollUp(minutes []int64, stats []stat, now int64) ([]int64, []stat) {
	bucket := func(m int64) int64 {
		switch age := now - m; {
		case age > 24*60:
			return m - m%60
		case age > 3*60:
			return m - m%5
		}
		return m
	}
	outM := make([]int64, 0, len(minutes))
	outS := make([]stat, 0, len(stats))
	for i, m := range minutes {
		b := bucket(m)
		if n := len(outM); n > 0 && outM[n-1] == b {
			outS[n-1].merge(stats[i])
			continue
		}
		outM = append(outM, b)
		outS = append(outS, stats[i])
	}
	return outM, outS
}

// seriesJSON is a series as snapshots hold it: [minute, sum, count, min, max] points.
type seriesJSON struct {
	Metric     string            `json:"metric"`
	Dimensions map[string]string `json:"dimensions"`
	Points     [][5]float64      `json:"points"`
}

func (m *metrics) MarshalJSON() ([]byte, error) {
	out := make([]seriesJSON, 0, len(m.series))
	for k, s := range m.series {
		sj := seriesJSON{Metric: k.name, Dimensions: k.d.asMap()}
		for i, minute := range s.minutes {
			st := s.stats[i]
			sj.Points = append(sj.Points, [5]float64{float64(minute), st.Sum, float64(st.Count), st.Min, st.Max})
		}
		out = append(out, sj)
	}
	slices.SortFunc(out, func(a, b seriesJSON) int {
		ka, _ := json.Marshal(a.Dimensions)
		kb, _ := json.Marshal(b.Dimensions)
		if a.Metric != b.Metric {
			return cmpString(a.Metric, b.Metric)
		}
		return cmpString(string(ka), string(kb))
	})
	return json.Marshal(struct {
		Series []seriesJSON `json:"series"`
		Pruned int64        `json:"pruned"`
	}{out, m.pruned})
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (m *metrics) UnmarshalJSON(b []byte) error {
	var in struct {
		Series []seriesJSON `json:"series"`
		Pruned int64        `json:"pruned"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	m.series = map[seriesKey]*series{}
	m.pruned = in.Pruned
	for _, sj := range in.Series {
		s := &series{}
		for _, p := range sj.Points {
			s.minutes = append(s.minutes, int64(p[0]))
			s.stats = append(s.stats, stat{Sum: p[1], Count: int64(p[2]), Min: p[3], Max: p[4]})
		}
		m.series[seriesKey{sj.Metric, dimsFrom(sj.Dimensions)}] = s
	}
	return nil
}

type metricDataInput struct {
	MetricName *string
	Dimensions map[string]string
	GroupBy    []string
	Stat       *string
	StartTime  *wire.Timestamp
	EndTime    *wire.Timestamp
	Period     *int64
}

var stats = []string{"Sum", "Average", "Minimum", "Maximum", "SampleCount"}

// simGetMetricData answers a CloudWatch-like query: the data points of one
// metric whose dimensions match a filter, split into series by GroupBy,
// aggregated per Period (300 seconds by default) from StartTime to EndTime
// (the last three hours by default).
func (e *Engine) simGetMetricData(_ time.Time, body []byte) (any, error) {
	var in metricDataInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v wire.Validator
	v.Required("MetricName", in.MetricName != nil)
	v.Enum("MetricName", in.MetricName, metricNames...)
	v.Required("Stat", in.Stat != nil)
	v.Enum("Stat", in.Stat, stats...)
	v.Int("Period", in.Period, 60, 86400)
	for _, g := range in.GroupBy {
		v.Enum("GroupBy.member", &g, dimensionNames...)
	}
	for name := range in.Dimensions {
		v.Enum("Dimensions.key", &name, dimensionNames...)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	period := int64(300)
	if in.Period != nil {
		period = *in.Period
	}
	if period%60 != 0 {
		return nil, exception("ValidationException", "Period must be a multiple of 60 seconds.")
	}
	// Like the console, the last three hours unless told otherwise.
	end := e.now.Unix() + 1
	if in.EndTime != nil {
		end = time.Time(*in.EndTime).Unix()
	}
	start := end - 3*3600
	if in.StartTime != nil {
		start = time.Time(*in.StartTime).Unix()
	}
	if end <= start {
		return nil, exception("ValidationException", "EndTime must be after StartTime.")
	}
	if (end-start)/period > 1440 {
		return nil, exception("ValidationException", "The query asks for more than 1,440 data points; use a longer Period.")
	}
	type group struct {
		dims    map[string]string
		buckets map[int64]*stat
	}
	groups := map[string]*group{}
	var order []string
	for k, s := range e.metrics.series {
		if k.name != *in.MetricName || !matches(k.d, in.Dimensions) {
			continue
		}
		gd := map[string]string{}
		gkey := ""
		for _, g := range in.GroupBy {
			val, _ := k.d.get(g)
			gd[g] = val
			gkey += g + "=" + val + "\x00"
		}
		grp := groups[gkey]
		if grp == nil {
			grp = &group{dims: gd, buckets: map[int64]*stat{}}
			groups[gkey] = grp
			order = append(order, gkey)
		}
		lo, _ := slices.BinarySearch(s.minutes, start/60)
		for i := lo; i < len(s.minutes) && s.minutes[i]*60 < end; i++ {
			p := start + (s.minutes[i]*60-start)/period*period
			b := grp.buckets[p]
			if b == nil {
				b = &stat{}
				grp.buckets[p] = b
			}
			b.merge(s.stats[i])
		}
	}
	slices.Sort(order)
	type outSeries struct {
		Dimensions map[string]string
		Timestamps []int64
		Values     []float64
	}
	out := struct {
		MetricName string
		Stat       string
		Period     int64
		Series     []outSeries
	}{*in.MetricName, *in.Stat, period, []outSeries{}}
	for _, gkey := range order {
		grp := groups[gkey]
		os := outSeries{Dimensions: grp.dims, Timestamps: []int64{}, Values: []float64{}}
		ts := make([]int64, 0, len(grp.buckets))
		for t := range grp.buckets {
			ts = append(ts, t)
		}
		slices.Sort(ts)
		for _, t := range ts {
			b := grp.buckets[t]
			var val float64
			switch *in.Stat {
			case "Sum":
				val = b.Sum
			case "Average":
				val = b.Sum / float64(b.Count)
			case "Minimum":
				val = b.Min
			case "Maximum":
				val = b.Max
			case "SampleCount":
				val = float64(b.Count)
			}
			os.Timestamps = append(os.Timestamps, t)
			os.Values = append(os.Values, math.Round(val*1000)/1000)
		}
		if len(ts) > 0 {
			out.Series = append(out.Series, os)
		}
	}
	return out, nil
}

func matches(d dims, filter map[string]string) bool {
	for name, want := range filter {
		if got, _ := d.get(name); got != want {
			return false
		}
	}
	return true
}

// simListMetrics lists the metrics that have data, optionally for one store.
func (e *Engine) simListMetrics(_ time.Time, body []byte) (any, error) {
	var in struct{ CustomKeyStoreId *string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	type metric struct {
		MetricName string
		Dimensions map[string]string
	}
	out := []metric{}
	for k := range e.metrics.series {
		if in.CustomKeyStoreId != nil && k.d.CustomKeyStoreId != *in.CustomKeyStoreId {
			continue
		}
		out = append(out, metric{k.name, k.d.asMap()})
	}
	slices.SortFunc(out, func(a, b metric) int {
		if a.MetricName != b.MetricName {
			return cmpString(a.MetricName, b.MetricName)
		}
		ka, _ := json.Marshal(a.Dimensions)
		kb, _ := json.Marshal(b.Dimensions)
		return cmpString(string(ka), string(kb))
	})
	return map[string]any{"Metrics": out}, nil
}
