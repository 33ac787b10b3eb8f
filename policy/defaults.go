package policy

// SetDefaults fills every field a policy left out with its default. It is the one place
// defaults are applied; the loader calls it before validation, and the decision engine assumes
// it has run.
func (p *Policy) SetDefaults() {
	s := &p.Spec
	if s.MinReplicas == nil {
		s.MinReplicas = ptr(DefaultMinReplicas)
	}
	if s.Mode == "" {
		s.Mode = ModePullRequest
	}
	if s.Mode == ModeApply {
		s.Mode = ModeCommit
	}
	if s.Delivery != nil {
		if s.Delivery.ScaleUp == ModeApply {
			s.Delivery.ScaleUp = ModeCommit
		}
		if s.Delivery.ScaleDown == ModeApply {
			s.Delivery.ScaleDown = ModeCommit
		}
	}
	if s.Schedule == "" {
		s.Schedule = DefaultSchedule
	}
	if s.Aggregation == "" {
		s.Aggregation = AggregateMax
	}
	if s.Tolerance == nil {
		s.Tolerance = ptr(DefaultTolerance)
	}
	if st := s.Strategy; st != nil && st.Type == StrategySteady {
		if st.HeadroomPercent == nil {
			st.HeadroomPercent = ptr(DefaultSteadyHeadroomPercent)
		}
		if st.MaxChangesPerDay == nil {
			st.MaxChangesPerDay = ptr(DefaultSteadyMaxChangesPerDay)
		}
		if st.ScaleDownDelaySeconds == nil {
			st.ScaleDownDelaySeconds = ptr(DefaultSteadyScaleDownDelaySeconds)
		}
		if st.HorizonSeconds == nil {
			st.HorizonSeconds = ptr(DefaultSteadyHorizonSeconds)
		}
	}
	if s.Prometheus == nil {
		s.Prometheus = &PrometheusRef{}
	}
	if s.Prometheus.Server == "" && s.Prometheus.URL == "" {
		s.Prometheus.Server = DefaultPrometheusServer
	}
	if s.Holds == nil {
		s.Holds = &Holds{}
	}
	if s.Holds.AfterRevertSeconds == nil {
		s.Holds.AfterRevertSeconds = ptr(DefaultHoldSeconds)
	}
	if s.Holds.AfterManualEditSeconds == nil {
		s.Holds.AfterManualEditSeconds = ptr(DefaultHoldSeconds)
	}
	if s.SyncCheck != nil && s.SyncCheck.TimeoutSeconds == 0 {
		s.SyncCheck.TimeoutSeconds = DefaultSyncTimeout
	}
	if s.TargetRef.Namespace == "" {
		s.TargetRef.Namespace = p.Metadata.Namespace
	}
	if s.Render != nil && s.Render.Helm != nil && s.Render.Helm.Namespace == "" {
		s.Render.Helm.Namespace = s.TargetRef.Namespace
	}
	// The HPA form's own defaults (stabilization windows, policies, selectPolicy) are applied
	// by the engine where it reads them, because "left out" has HPA-specific meaning there.
}

// ModeFor is the delivery mode of a change from current to desired: the per-direction override
// if set, else the policy's mode.
func (s *Spec) ModeFor(current, desired int) Mode {
	if s.Delivery != nil {
		if desired > current && s.Delivery.ScaleUp != "" {
			return s.Delivery.ScaleUp
		}
		if desired < current && s.Delivery.ScaleDown != "" {
			return s.Delivery.ScaleDown
		}
	}
	return s.Mode
}

// Defaults used when a policy document leaves a field out. They live here, in one place (the
// service config's are package internal/svcconfig's).
const (
	DefaultSchedule         = "@every 30s"
	DefaultMinReplicas      = 1
	DefaultTolerance        = 0.1
	DefaultHoldSeconds      = 3600
	DefaultSyncTimeout      = 600
	DefaultPrometheusServer = "default"
)

func ptr[T any](v T) *T { return &v }

// Steady's defaults, chosen on the tuning traces of docs/benchmarks.md.
const (
	DefaultSteadyHeadroomPercent       = 0
	DefaultSteadyMaxChangesPerDay      = 24
	DefaultSteadyScaleDownDelaySeconds = 7200
	DefaultSteadyHorizonSeconds        = 7200
)
