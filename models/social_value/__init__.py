"""Social value (SROI): impact map -> proxies -> the SROI guide's arithmetic -> sensitivity.

Pure Python (no Dagster). The usual call::

    from models.social_value import run_social_value
    run = run_social_value("data/impact_map.example.yaml", model_outputs)
    run.social_value, run.social_value_sensitivity, run.impact_map   # DataFrames (marts)

Step by step: ``load_impact_map`` -> ``resolve`` (quantities, proxies, deflators)
-> ``evaluate`` (exact Decimal arithmetic) -> ``one_at_a_time`` (switching values,
tornado) and ``simulate`` (Monte Carlo). Bad input raises ``SocialValueError``
naming the outcome and the field. Method, formats and sources: docs/social-value.md.
"""

from models.social_value.arithmetic import (
    OutcomeResult,
    ScopeResult,
    SROIResult,
    YearValue,
    evaluate,
    evaluate_outcome,
    impact_stream,
    investment_present_value,
    payback_months,
    penny,
    present_value,
    year1_impact,
)
from models.social_value.discounting import GREEN_BOOK, HEALTH, DiscountSchedule, constant_schedule, schedule_from_spec, yearly_schedule
from models.social_value.errors import SocialValueError
from models.social_value.impact_map import ImpactMap, Outcome, load_impact_map, parse_impact_map
from models.social_value.model_outputs import ModelOutput, deadweight_from_comparison, model_output_key
from models.social_value.monte_carlo import MonteCarloResult, simulate
from models.social_value.outputs import SocialValueRun, impact_map_frame, run_social_value, social_value_frame, yearly_frame
from models.social_value.proxies import (
    DeflatorTable,
    Proxy,
    ProxyTable,
    builtin_deflators_path,
    builtin_proxies_path,
    load_deflators,
    load_proxy_table,
    uprate,
)
from models.social_value.resolve import ResolvedMap, ResolvedOutcome, resolve
from models.social_value.sensitivity import SwitchingValue, one_at_a_time, switching_value, tornado

__all__ = [
    "GREEN_BOOK", "HEALTH", "DeflatorTable", "DiscountSchedule", "ImpactMap", "ModelOutput", "MonteCarloResult",
    "Outcome", "OutcomeResult", "Proxy", "ProxyTable", "ResolvedMap", "ResolvedOutcome", "SROIResult", "ScopeResult",
    "SocialValueError", "SocialValueRun", "SwitchingValue", "YearValue", "builtin_deflators_path",
    "builtin_proxies_path", "constant_schedule", "deadweight_from_comparison", "evaluate", "evaluate_outcome",
    "impact_map_frame", "impact_stream", "investment_present_value", "load_deflators", "load_impact_map",
    "load_proxy_table", "model_output_key", "one_at_a_time", "parse_impact_map", "payback_months", "penny",
    "present_value", "resolve", "run_social_value", "schedule_from_spec", "simulate", "social_value_frame",
    "switching_value", "tornado", "uprate", "year1_impact", "yearly_frame", "yearly_schedule",
]
