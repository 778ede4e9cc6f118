"""The one exception the social-value calculator raises for bad input.

``SocialValueError`` subclasses ``ValueError`` so callers that already catch
``ValueError`` keep working. The message always names the outcome and the field
at fault (when there is one) and says what to write instead, for example::

    impact_map.yaml: outcome 'fewer_readmissions', field 'attribution': 120 is
    outside 0-100 (percentages are written 0-100, e.g. 20 for 20%)
"""

from __future__ import annotations


class SocialValueError(ValueError):
    """Input the SROI calculator cannot evaluate honestly.

    Raised for: a percentage outside 0-100% or written ambiguously (0.2); an
    unknown proxy id; a proxy without a price year, or whose price year has no
    deflator; a model-output quantity whose model has no results; deadweight taken
    ``from_comparison`` without comparison and participant rates, or on a
    quantity that is already net of the comparison group (double counting); a
    negative or fractional duration; an unknown scope, field or discount schedule;
    a sensitivity range that does not contain the base value.

    Attributes ``outcome``, ``field`` and ``source`` hold the parts the message
    names, so a caller (a Dagster asset, the CLI) can report them separately.
    """

    def __init__(
        self,
        message: str,
        *,
        outcome: str | None = None,
        field: str | None = None,
        source: str | None = None,
    ) -> None:
        self.outcome = outcome
        self.field = field
        self.source = source
        self.detail = message
        where = []
        if outcome is not None:
            where.append(f"outcome '{outcome}'")
        if field is not None:
            where.append(f"field '{field}'")
        text = f"{', '.join(where)}: {message}" if where else message
        if source:
            text = f"{source}: {text}"
        super().__init__(text)
