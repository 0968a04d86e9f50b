package engine

import "time"

// clock maps host time to the sandbox's virtual time. Virtual time runs
// Speed times as fast as host time (0 pauses it), can be pushed forward by
// Simulator.AdvanceClock, and never goes backwards, even when the host's
// clock does (a restart on another machine, a browser tab woken from sleep).
type clock struct {
	HostAnchor time.Time `json:"hostAnchor"`
	VirtAnchor time.Time `json:"virtualAnchor"`
	Speed      float64   `json:"speed"`
	Last       time.Time `json:"last"`
}

func newClock(host time.Time, speed float64) clock {
	v := host.UTC().Truncate(time.Millisecond)
	return clock{HostAnchor: v, VirtAnchor: v, Speed: speed, Last: v}
}

// virtual returns the virtual time at host time h, in whole milliseconds.
func (c *clock) virtual(h time.Time) time.Time {
	d := time.Duration(float64(h.Sub(c.HostAnchor)) * c.Speed)
	v := c.VirtAnchor.Add(d).UTC().Truncate(time.Millisecond)
	if v.Before(c.Last) {
		v = c.Last
	}
	c.Last = v
	return v
}

// advance moves virtual time forward by d.
func (c *clock) advance(d time.Duration) {
	c.VirtAnchor = c.VirtAnchor.Add(d)
	c.Last = c.Last.Add(d)
}

// setSpeed changes the speed from host time h on, without a jump.
func (c *clock) setSpeed(h time.Time, speed float64) {
	c.VirtAnchor = c.virtual(h)
	c.HostAnchor = h
	c.Speed = speed
}

// resume re-anchors the clock at host time h so that virtual time carries on
// from where it stopped (used when a snapshot is loaded).
func (c *clock) resume(h time.Time) {
	c.VirtAnchor = c.Last
	c.HostAnchor = h
}
