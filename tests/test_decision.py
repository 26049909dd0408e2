"""The decision step and its calibration, on plain numbers (no model needed)."""

from __future__ import annotations

from pathlib import Path

from assistant.answering.calibration import (
    Objective,
    PartRow,
    RouteScorer,
    Row,
    calibrate,
    cross_validated,
    score_grid,
    utility,
)
from assistant.answering.decision import Calibration, Features, RouteFeatures, RouteThresholds, decide
from assistant.evaluation import Labelled

CAL = Calibration(RouteThresholds(0.90, 0.3), RouteThresholds(0.88, 0.4), 0.86)


def features(faq=None, chunk=None, domain=1, individual=False, crisis=False) -> Features:
    return Features(faq, chunk, domain, individual, crisis)


def test_confident_faq_is_answered_from_the_faq():
    d = decide(features(faq=RouteFeatures(0.93, 0.6, 0.02), chunk=RouteFeatures(0.95, 0.9, 0.05)), CAL)
    assert (d.status, d.route) == ("answered", "faq")


def test_passage_answers_when_no_faq_is_confident():
    d = decide(features(faq=RouteFeatures(0.85, 0.6), chunk=RouteFeatures(0.90, 0.5)), CAL)
    assert (d.status, d.route) == ("answered", "chunk")


def test_high_similarity_without_lexical_support_is_not_trusted():
    d = decide(features(faq=RouteFeatures(0.95, 0.1), chunk=RouteFeatures(0.95, 0.1)), CAL)
    assert d.status == "flagged"


def test_individual_case_and_crisis_are_flagged_even_when_retrieval_is_confident():
    strong = RouteFeatures(0.97, 1.0, 0.1)
    assert decide(features(faq=strong, individual=True), CAL).status == "flagged"
    assert decide(features(faq=strong, crisis=True), CAL).status == "flagged"


def test_out_of_scope_needs_no_domain_word_and_low_relevance():
    weak = RouteFeatures(0.80, 0.0)
    assert decide(features(faq=weak, domain=0), CAL).status == "out_of_scope"
    assert decide(features(faq=weak, domain=1), CAL).status == "flagged"
    assert decide(features(faq=RouteFeatures(0.87, 0.0), domain=0), CAL).status == "flagged"


def test_calibration_round_trips_through_json(tmp_path: Path):
    path = tmp_path / "cal.json"
    CAL.save(path)
    assert Calibration.load(path) == CAL


def _row(status: str, relevance: float, coverage: float, target: str | None, expected=(), domain=1) -> Row:
    f = features(faq=RouteFeatures(relevance, coverage, 0.02), chunk=None, domain=domain)
    return Row(Labelled("q", "全国", status, tuple(expected)), (PartRow(f, target, None),))


def test_calibration_separates_answerable_from_unanswerable_and_penalises_wrong_answers():
    rows = [_row("answered", 0.92 + i * 0.002, 0.6, "a", ["a"]) for i in range(10)]
    rows += [_row("flagged", 0.86 + i * 0.002, 0.5, "b") for i in range(10)]
    rows += [_row("out_of_scope", 0.80, 0.0, "c", domain=0) for _ in range(5)]
    result = calibrate(rows)
    assert 0.878 <= result.calibration.faq.min_relevance <= 0.92
    assert result.accuracy == 1.0
    # a setting that answers the flagged ones scores worse than one that flags everything answerable
    loose = Calibration(RouteThresholds(0.80, 0.0), RouteThresholds(0.99, 1.0), 0.99)
    strict = Calibration(RouteThresholds(0.99, 1.0), RouteThresholds(0.99, 1.0), 0.99)
    assert utility(rows, loose)[0] < utility(rows, strict)[0]


def test_cross_validation_scores_thresholds_on_questions_they_were_not_fitted_on():
    separable = [_row("answered", 0.92 + i * 0.002, 0.6, "a", ["a"]) for i in range(10)]
    separable += [_row("flagged", 0.86 + i * 0.002, 0.5, "b") for i in range(10)]
    # well separated: thresholds fitted on four fifths decide every held-out question right (+1 each)
    assert cross_validated(separable, Calibration(), folds=5) == len(separable)
    # the same relevance answerable in one question and unanswerable in the next: any threshold that fits one
    # fold's noise is wrong on another, so held out it scores below what it scores on the questions it saw
    noisy = [_row("answered" if i % 3 else "flagged", 0.90 + (i % 7) * 0.01, 0.6, "a",
                  ["a"] if i % 3 else []) for i in range(30)]
    assert cross_validated(noisy, Calibration(), folds=5) < calibrate(noisy).objective


def test_the_fast_route_scorer_equals_deciding_every_question_again():
    """RouteScorer (a table per pattern of passing parts) gives exactly `utility` of the calibration with the
    route's thresholds replaced: random questions of one to three parts, random signals, random thresholds."""
    import random
    from dataclasses import replace

    from assistant.answering.calibration import _with_route

    rng = random.Random(11)

    def route() -> RouteFeatures | None:
        if rng.random() < 0.15:
            return None
        return RouteFeatures(rng.uniform(0.85, 1.0), rng.choice([0.0, 0.2, 0.5, 0.8]), rng.uniform(-0.01, 0.05),
                             agree=rng.random() < 0.4, confidence=rng.uniform(0, 5),
                             missing_condition=rng.random() < 0.1)

    rows = []
    for n in range(120):
        def part() -> PartRow:
            offered = tuple(sorted((rng.uniform(0.85, 1.0) for _ in range(rng.randint(0, 3))), reverse=True))
            f = Features(route(), route(), rng.choice([0, 1, 2]), rng.random() < 0.05, False, offered=offered)
            return PartRow(f, rng.choice(["a", "b", None]), rng.choice(["c", "d", None]),
                           ("a", "c")[: rng.randint(0, 2)])

        parts = tuple(part() for _ in range(rng.randint(1, 3)))
        status = rng.choice(["answered", "flagged", "out_of_scope"])
        rows.append(Row(Labelled(f"q{n}", "全国", status, ("a", "c") if status == "answered" else ()), parts))
    base = Calibration(RouteThresholds(0.93, 0.3, 0.01), RouteThresholds(0.9, 0.4), 0.9, suggest_relevance=0.95)
    objective = Objective(wrong_answer=3.7, choice=0.3)
    # a question of more parts than are tabulated is decided again for each setting, last or not
    wide = Row(Labelled("wide", "全国", "answered", ("a",)),
               tuple(PartRow(Features(route(), route(), 1, False, False), "a", "c") for _ in range(12)))
    rows = [*rows[:60], wide, *rows[60:], wide]
    for name in ("faq", "chunk"):
        scorer = RouteScorer(rows, base, name, objective)
        for _ in range(200):
            t = RouteThresholds(rng.uniform(0.85, 1.0), rng.choice([0.0, 0.2, 0.5]), rng.choice([0.0, 0.01, 0.03]),
                                rng.uniform(0.85, 1.01), rng.choice([-99.0, 1.0, 2.5]))
            assert scorer(t) == utility(rows, _with_route(base, name, t), objective=objective)[0]
        assert scorer(getattr(base, name)) == utility(rows, replace(base), objective=objective)[0]


def test_a_dearer_wrong_answer_makes_calibration_answer_less():
    # overlapping scores: the higher the relevance the likelier the top entry is right
    rows = [_row("answered", 0.90 + i * 0.01, 0.6, "a", ["a"]) for i in range(10)]
    rows += [_row("answered", 0.905 + i * 0.01, 0.6, "wrong", ["a"]) for i in (0, 2, 4)]
    cheap = calibrate(rows, objective=Objective(wrong_answer=1.0)).calibration
    dear = calibrate(rows, objective=Objective(wrong_answer=20.0)).calibration

    def answered(c: Calibration) -> set[str]:
        return {p.faq for r in rows for p in r.parts if decide(p.features, c).status == "answered"}

    assert answered(cheap) == {"a", "wrong"} and answered(dear) == {"a"}
    assert utility(rows, dear, objective=Objective(wrong_answer=20.0))[0] >= utility(
        rows, cheap, objective=Objective(wrong_answer=20.0))[0]


def test_answer_with_the_wrong_source_counts_as_wrong():
    rows = [_row("answered", 0.95, 0.8, "wrong", ["right"])]
    objective, accuracy = utility(rows, CAL)
    assert accuracy == 0.0 and objective < 0


def test_choices_are_offered_when_no_answer_is_confident_but_entries_are_plausible():
    cal = Calibration(RouteThresholds(0.95, 0.3), RouteThresholds(0.99, 0.5), 0.86, suggest_relevance=0.90)
    unsure = Features(RouteFeatures(0.92, 0.5, 0.0), None, 1, False, False, offered=(0.92, 0.91, 0.85))
    d = decide(unsure, cal)
    assert (d.status, d.suggestions) == ("suggested", 2)
    # nothing plausible enough: flagged as before; own-case questions are never offered choices
    assert decide(Features(RouteFeatures(0.88, 0.5), None, 1, False, False, offered=(0.88,)), cal).status == "flagged"
    assert decide(Features(RouteFeatures(0.92, 0.5), None, 1, True, False, offered=(0.92,)), cal).status == "flagged"


def test_an_item_defined_by_a_condition_the_question_lacks_never_answers():
    strong = RouteFeatures(0.99, 1.0, 0.1, confidence=5.0)
    assert strong.passes(CAL.faq)
    assert not RouteFeatures(0.99, 1.0, 0.1, confidence=5.0, missing_condition=True).passes(CAL.faq)


def test_relative_confidence_threshold_blocks_an_answer_that_does_not_stand_out():
    t = RouteThresholds(0.90, 0.3, min_confidence=2.0)
    assert RouteFeatures(0.95, 0.5, 0.02, confidence=2.5).passes(t)
    assert not RouteFeatures(0.95, 0.5, 0.02, confidence=1.0).passes(t)


def test_threshold_grid_follows_the_scores_the_model_produces():
    narrow = score_grid([0.85 + i * 0.001 for i in range(100)])
    wide = score_grid([0.2 + i * 0.006 for i in range(100)])
    assert narrow.min() >= 0.85 and narrow.max() <= 0.95
    assert wide.min() < 0.3 and wide.max() > 0.7  # a model with wider scores gets a wider search


def test_offering_the_right_choice_scores_better_than_a_needless_flag_and_a_wrong_choice_worse():
    f = Features(RouteFeatures(0.92, 0.5, 0.0), None, 1, False, False, offered=(0.92,))
    right = [Row(Labelled("q", "全国", "answered", ("a",)), (PartRow(f, "a", None, ("a",)),))]
    wrong = [Row(Labelled("q", "全国", "answered", ("a",)), (PartRow(f, "b", None, ("b",)),))]
    offer = Calibration(RouteThresholds(0.99, 0.3), RouteThresholds(0.99, 0.5), 0.86, suggest_relevance=0.9)
    no_offer = Calibration(RouteThresholds(0.99, 0.3), RouteThresholds(0.99, 0.5), 0.86, suggest_relevance=9.0)
    assert utility(right, offer)[0] > utility(right, no_offer)[0]
    assert utility(wrong, offer)[0] > utility(wrong, no_offer)[0] - 1  # a wrong list costs less than a wrong answer
    assert utility(wrong, offer)[0] < utility(right, offer)[0]


def test_a_question_naming_nothing_of_the_domain_is_never_answered():
    strong = RouteFeatures(1.2, 1.0, 0.2, confidence=9.0)
    assert decide(features(faq=strong, domain=1), CAL).status == "answered"
    assert decide(features(faq=strong, domain=0), CAL).status != "answered"  # "你吃饭了没" with a lucky match

