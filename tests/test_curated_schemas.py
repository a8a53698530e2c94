"""The curated contract: pandera YAML in schemas/curated/ matches frames.CURATED.

The YAML files are generated from the pandera definitions below (pandera's API + `to_yaml`) so they
round-trip through `from_yaml`. After changing a definition, regenerate the files with
`PYTHONPATH=. uv run python tests/test_curated_schemas.py` and review the diff: the YAML is what dashboards read.
"""

from __future__ import annotations

from pathlib import Path

import pandera.polars as pa
import polars as pl

from tests.conftest import CURATED
import pytest
import yaml
from pandera.errors import SchemaErrors



CURATED_DIR = Path(__file__).resolve().parents[1] / "schemas" / "curated"

NON_NEGATIVE = [pa.Check.ge(0)]


def col(dtype: pl.DataType, description: str, *, nullable: bool = False, checks=None) -> pa.Column:
    return pa.Column(dtype, checks=checks, nullable=nullable, description=description)


def text(description: str, *, nullable: bool = False, isin: list[str] | None = None) -> pa.Column:
    checks = [pa.Check.isin(isin)] if isin else [pa.Check.str_length(min_value=1)]
    return col(pl.String, description, nullable=nullable, checks=checks)


def count(description: str, *, nullable: bool = False) -> pa.Column:
    return col(pl.Int64, description, nullable=nullable, checks=NON_NEGATIVE)


def indicators_schema() -> pa.DataFrameSchema:
    columns = {
        "pledge_id": text("Pledge (공약) id from the catalog, e.g. ydp-2018-15."),
        "subproject_id": text("Sub-project (세부사업) id from the catalog."),
        "subproject_name_ko": text("Sub-project name as the card prints it (세부사업명)."),
        "indicator_id": text("Indicator (공약달성 확인지표) id from the catalog, e.g. jobs_created."),
        "indicator_name_ko": text("Indicator name in Korean (지표명)."),
        "unit": text("Unit of the indicator as printed (단위), e.g. 명."),
        "period": text('Period label as the card prints it (기간): "2018" … "2022.6.".'),
        "period_order": col(pl.Int32, "Position of the period in the term, 1 = first.", checks=[pa.Check.ge(1)]),
        "period_start_date": col(pl.Date, "First day of the period (inclusive), from the catalog."),
        "period_end_date": col(pl.Date, "Last day of the period (inclusive), from the catalog."),
        "target": count("Target for the period (목표); null where the card prints '-'.", nullable=True),
        "actual": count("Actual counted from valid records (실적, records)."),
        "reported_actual": count("Actual as the card reports it (추진실적); null where nothing is reported.", nullable=True),
        "cumulative_actual": count("Actual from records over the term up to and including this period (누적 실적): the running sum of actual; for a distinct count each value once to date."),
        "total_target": count("Target for the whole term (총 목표); null where the card prints none.", nullable=True),
        "achievement_rate_pct": col(
            pl.Float64,
            "Implementation rate (이행률) per rate_definition (cumulative_over_total: cumulative_actual / total_target * "
            "100), one decimal; null without a target.",
            nullable=True,
            checks=NON_NEGATIVE,
        ),
        "excluded_records": count("Records of this cell held back by quarantine (검증 제외 건수)."),
        "waived_records": count("Of actual: records counted because a steward waived their failures (면제 건수)."),
        "corrected_records": count("Of actual: records counted after a steward's correction (수정 건수)."),
        "decision_excluded_records": count("Records a steward's exclude decision keeps out of actual (제외 결정 건수)."),
        "status": text("met (actual ≥ target), below_target, no_target (the card prints '-'), or not_started (the "
                       "period begins after the newest record) (상태).",
                       isin=["met", "below_target", "no_target", "not_started"]),
        "measure_kind": text("How the indicator is measured, as the catalog declares it (측정 방식): count (records), sum (of a "
                             "numeric column), distinct (values counted once) or ratio (numerator ÷ denominator, both declared "
                             "measures).", isin=MEASURE_KINDS),
        "target_semantics": text("per_period (each period's target is its own) or cumulative (each period's target is the "
                                 "total to date) (목표 기준).", isin=TARGET_SEMANTICS),
        "rate_definition": text("How achievement_rate_pct is computed on this card (이행률 정의): cumulative_over_total "
                                "(cumulative ÷ total target), period_over_target (the period's value ÷ its target) or "
                                "cumulative_over_target (cumulative ÷ the period's target).", isin=RATE_DEFINITIONS),
        "denominator": count("Ratio indicators only: the period's denominator (e.g. enrolled for 수료율); actual is then the "
                             "numerator. Null for other measures (분모).", nullable=True),
        "cumulative_denominator": count("Ratio indicators only: the denominator over the periods to date (누적 분모): its running sum; for a distinct count each value once.",
                                        nullable=True),
        "actual_pct": col(pl.Float64, "Ratio indicators only: actual ÷ denominator × 100, to 0.1 (null without a "
                          "denominator) (기간 비율).", nullable=True),
        "cumulative_pct": col(pl.Float64, "Ratio indicators only: cumulative_actual ÷ cumulative_denominator × 100, to "
                              "0.1 (누적 비율).", nullable=True),
    }
    return pa.DataFrameSchema(
        columns,
        strict=True,
        unique=["pledge_id", "subproject_id", "indicator_id", "period"],
        name="indicators",
        description="One row per pledge, sub-project, indicator and period: targets, actuals and rates.",
    )


def budget_schema() -> pa.DataFrameSchema:
    columns = {
        "pledge_id": text("Pledge (공약) id from the catalog."),
        "subproject_id": text("Sub-project (세부사업) id, or 'total' for the card's 계 rows."),
        "subproject_name_ko": text("Sub-project name as printed; null for total rows.", nullable=True),
        "funding_source": text("Funding source (재원).", isin=["total", "district", "city", "national"]),
        "funding_source_ko": text("Funding source as printed (재원): 계, 구비, 시비, 국비.", isin=["계", "구비", "시비", "국비"]),
        "period": text("Period label as printed, or 'total' for the card's 계 column."),
        "amount_million_krw": count("Budget (소요예산액) in million KRW (백만원); null where the card prints '-'.", nullable=True),
        "amount_text": text("The amount exactly as printed on the card; null for an empty cell.", nullable=True),
        "row_kind": text("leaf | subtotal | total. SUM(amount_million_krw) WHERE row_kind = 'leaf' gives the grand total, counted once: a leaf is the finest cell the card prints (a period of a sub-project, by funding source where the card splits that sub-project by source); total is the 계 row, 계 source, 계 column cell; subtotal is every other 계 (the 계 column of a row, per-source rows across sub-projects). Per-source figures: subproject_id = 'total', funding_source <> 'total', period <> 'total'.", isin=["leaf", "subtotal", "total"]),
    }
    return pa.DataFrameSchema(
        columns,
        strict=True,
        unique=["pledge_id", "subproject_id", "funding_source", "period"],
        name="budget",
        description="The card's budget table (소요예산액) by sub-project, funding source and period.",
    )


def reconciliation_schema() -> pa.DataFrameSchema:
    kinds = ["records_vs_report", "report_arithmetic", "report_format", "report_consistency", "delivery_totals"]
    columns = {
        "check_id": text("Stable id of the check: kind/rule/subject/period."),
        "kind": text("What is compared (검증 유형).", isin=kinds),
        "rule": text("The rule that was checked (규칙)."),
        "subject": text("What the check is about, e.g. a sub-project or a printed total (대상)."),
        "period": text("Period label the check applies to; null when it spans no single period.", nullable=True),
        "expected": col(pl.Float64, 'Value the rule expects (기대값), as Float64 whatever it measures (see value_kind; kept for compatibility).', nullable=True),
        "observed": col(pl.Float64, 'Value observed, usually as reported on the card (관측값), as Float64 (see value_kind).', nullable=True),
        "difference": col(pl.Float64, "observed - expected (차이).", nullable=True),
        "value_kind": text('What expected and observed measure: count (people, courses, firms: whole numbers, also in the *_count columns), amount_million_krw (budget, 백만원), rate_pct (percent), presence (1 = found, 0 = not found), number (a figure as read, e.g. a malformed one, or no figure).', isin=["count", "amount_million_krw", "rate_pct", "presence", "number"]),
        "expected_count": col(pl.Int64, 'expected as an integer where value_kind is count; null otherwise. Prefer it to expected for counts.', nullable=True),
        "observed_count": col(pl.Int64, 'observed as an integer where value_kind is count; null otherwise. Prefer it to observed for counts.', nullable=True),
        "difference_count": col(pl.Int64, 'observed_count - expected_count where value_kind is count; null otherwise.', nullable=True),
        "observed_text": text("The observed figure exactly as printed, when it comes from the report.", nullable=True),
        "source_ref": text("Where the observed figure comes from, e.g. raw/reported/budget.csv:5.", nullable=True),
        "status": text("Outcome (결과).", isin=["match", "mismatch", "not_reported", "malformed"]),
        "message_ko": text("Explanation in Korean (설명)."),
        "message_en": text("Explanation in English."),
        "pledge_id": text("The pledge (card) the check belongs to (공약); reconciliation runs card by card, so check_id is "
                          "unique within a pledge."),
    }
    return pa.DataFrameSchema(
        columns,
        strict=True,
        unique=["pledge_id", "check_id"],
        name="reconciliation",
        description="Every check of records against the report and of the report against itself (대사).",
    )


def validation_failures_schema() -> pa.DataFrameSchema:
    columns = {
        "dataset": text("Delivery dataset, e.g. placements (데이터셋)."),
        "source_file": text("Delivery file, relative to raw/ (원본 파일)."),
        "source_row": col(
            pl.Int64, "Row number as shown in Excel, header included (행 번호); null for file-level failures.",
            nullable=True, checks=[pa.Check.ge(1)],
        ),
        "record_key": text("Pseudonymised key of the record (레코드 키).", nullable=True),
        "record_id": text("Record id (레코드ID): the first 16 hex characters of HMAC-SHA256, keyed with the deployment's pseudonym key, over the record's cells exactly as delivered (in the dataset descriptor's column order). It depends on content only, not on source_file or row number: the same record keeps its id across reruns and re-deliveries, and any changed cell gives a new id. Not reversible and not a person identifier; ids differ between deployments with different keys. Null for a file-level failure. One record has one row per failing cell here, so count records with COUNT(DISTINCT dataset, record_id); steward decisions and the decisions table name records by it.", nullable=True),
        "column": text("Canonical column that failed (열); null for row- or file-level failures.", nullable=True),
        "rule": text("Rule that failed (규칙)."),
        "value": text("Offending value, masked (값, 마스킹됨); never personal data.", nullable=True),
        "severity": text("Severity (심각도).", isin=["error", "warning"]),
        "message_ko": text("Explanation in Korean (설명)."),
        "message_en": text("Explanation in English."),
        "fingerprint": text("Stable hash of the failure, the same across reruns and re-deliveries."),
        "first_seen_run": count("Run number in which this failure was first seen (최초 발견 실행)."),
        "state": text("Lifecycle state (상태): new, persisting (seen in an earlier run), waived / corrected / excluded "
                      "(by a steward's decision).", isin=["new", "persisting", "waived", "corrected", "excluded"]),
    }
    return pa.DataFrameSchema(
        columns, strict=True, name="validation_failures",
        description="What failed validation, for the data steward (검증 실패 목록).",
    )


def runs_schema() -> pa.DataFrameSchema:
    # a run that failed before counting keeps null counts: every count is nullable
    columns = {
        "run_number": col(pl.Int64, "Sequential run number (실행 번호).", checks=[pa.Check.ge(1)]),
        "run_id": text("Run id, run-NNNNNN (실행 ID)."),
        "started_at": col(pl.Datetime("us", "UTC"), "When the run started, UTC (run metadata)."),
        "finished_at": col(pl.Datetime("us", "UTC"), "When the run finished, UTC (run metadata).", nullable=True),
        "status": text("Final status of the run (실행 상태): completed, completed_with_warnings, blocked by a threshold, "
                       "or failed.", isin=["completed", "completed_with_warnings", "blocked", "failed"]),
        "message": text("Why the run was blocked or failed, or its warnings (실행 메시지).", nullable=True),
        "files_read": count("Delivery files read (읽은 파일 수).", nullable=True),
        "files_reused": count("Delivery files whose validated result was reused, unchanged since an earlier run (재사용 파일 수).", nullable=True),
        "rows_read": count("Data rows read (읽은 행 수).", nullable=True),
        "rows_valid": count("Rows that passed validation (유효 행 수).", nullable=True),
        "rows_quarantined": count("Rows held in quarantine (격리 행 수).", nullable=True),
        "mismatches": count("Reconciliation rows not in status match (불일치 건수).", nullable=True),
        "failures_new": count("Validation failures first seen in this run (신규 실패).", nullable=True),
        "failures_resolved": count("Failures of earlier runs no longer present (해결된 실패).", nullable=True),
        "duration_s": col(pl.Float64, "Wall time of the run up to publish, seconds (소요 시간).", nullable=True,
                          checks=[pa.Check.ge(0)]),
        "step_seconds_json": text("Seconds per step as a JSON object, e.g. {\"ingest\": 1.2} (단계별 소요 시간).", nullable=True),
        "version": text("Curated version this run published; null if it published none.", nullable=True),
    }
    return pa.DataFrameSchema(
        columns, strict=True, unique=["run_number"], name="runs",
        description="One row per pipeline run with its counts, durations and status (실행 이력).",
    )


def indicator_holdbacks_schema() -> pa.DataFrameSchema:
    columns = {
        "pledge_id": text("Pledge (공약) id."),
        "subproject_id": text("Sub-project (세부사업) id."),
        "indicator_id": text("Indicator id."),
        "period": text("Period label as printed (기간)."),
        "rule": text("Rule that holds the records back (규칙)."),
        "held_back_records": count("Records of this cell held back by this rule; a record failing two rules counts "
                                   "under both (보류 건수)."),
    }
    return pa.DataFrameSchema(
        columns, strict=True, unique=["pledge_id", "subproject_id", "indicator_id", "period", "rule"],
        name="indicator_holdbacks",
        description="What quarantine costs each indicator: records held back per period and rule (지표별 보류 현황).",
    )


def failure_trend_schema() -> pa.DataFrameSchema:
    columns = {
        "run_number": col(pl.Int64, "Run number (실행 번호).", checks=[pa.Check.ge(1)]),
        "dataset": text("Delivery dataset (데이터셋)."),
        **{state: count(f"Failures in state {state} in this run ({label}).")
           for state, label in (("new", "신규"), ("persisting", "지속"), ("waived", "면제"), ("corrected", "수정"),
                                ("excluded", "제외"))},
        "resolved": count("Failures of the previous version that no longer occur (해결)."),
    }
    return pa.DataFrameSchema(columns, strict=True, unique=["run_number", "dataset"], name="failure_trend",
                              description="Failure counts per dataset and run (실패 추이).")


def decisions_schema() -> pa.DataFrameSchema:
    columns = {
        "decision_id": text("Decision id from the ledger, D-000001… (결정번호); may be missing or repeated on an "
                            "`invalid` ledger row, which is reported, never fatal.", nullable=True),
        "action": text("correct, waive or exclude (조치).", isin=["correct", "waive", "exclude"], nullable=True),
        "dataset": text("Dataset of the record (데이터셋).", nullable=True),
        "source_file": text("Delivery file of the record (파일).", nullable=True),
        "source_row": col(pl.Int64, "Row of the record as seen in the file (행).", nullable=True),
        "record_id": text("Record id (레코드ID) the decision names, as written in the ledger: the first 16 hex characters of HMAC-SHA256, keyed with the deployment's pseudonym key, over the record's cells exactly as delivered (in the dataset descriptor's column order). It depends on content only, not on source_file or row number: the same record keeps its id across reruns and re-deliveries, and any changed cell gives a new id. Not reversible and not a person identifier; ids differ between deployments with different keys. Null for a decision on a whole file; joins validation_failures on (dataset, record_id).", nullable=True),
        "column": text("Corrected column (열), for correct.", nullable=True),
        "new_value": text("Corrected value, masked (새 값), for correct.", nullable=True),
        "decided_by": text("Who decided (결정자).", nullable=True),
        "decided_at": col(pl.Datetime("us", "UTC"), "When the decision was recorded, UTC (결정일시).", nullable=True),
        "reason": text("Why, masked (사유).", nullable=True),
        "expires_date": col(pl.Date, "Waiver expiry (만료일).", nullable=True),
        "outcome": text("What the run did with it (결과): applied, still_failing, stale_changed, stale_no_match, "
                        "expired, superseded or invalid.",
                        isin=["applied", "still_failing", "stale_changed", "stale_no_match", "expired", "superseded", "invalid"]),
        "message_ko": text("Outcome explained in Korean (설명)."),
        "message_en": text("Outcome explained in English."),
        "ledger_file": text("Ledger file the decision is in (원장 파일).", nullable=True),
        "ledger_row": col(pl.Int64, "Row of the decision in the ledger (원장 행).", nullable=True),
    }
    return pa.DataFrameSchema(columns, strict=True, name="decisions",
                              description="Steward decisions and what each run did with them (결정 이력).")


def pledges_schema() -> pa.DataFrameSchema:
    columns = {
        "pledge_id": text("Pledge (공약) id from the catalog."),
        "pledge_no": col(pl.Int64, "The pledge's number on the district's card list (공약번호).", checks=[pa.Check.ge(1)]),
        "district_ko": text("Local government that made the pledge (자치단체), in Korean."),
        "title_ko": text("The pledge's title as the catalog spells it (공약명)."),
        "term_start_date": col(pl.Date, "First day of the term the pledge belongs to (임기 시작)."),
        "term_end_date": col(pl.Date, "Last day of the term (임기 끝)."),
        "as_of_date": col(pl.Date, "The card's as-of date (기준일): the latest 기준일 of its register tables; null when "
                          "the register has none.", nullable=True),
        "implementation_stage_ko": text("The card's ticked 이행단계 options in card order, joined by ', ' (e.g. '여론수렴, "
                                        "완료(지속)'); null when none is ticked. More than one is a card inconsistency "
                                        "reported in reconciliation.", nullable=True),
        "source_document": text("The card the register was keyed from (출처).", nullable=True),
    }
    return pa.DataFrameSchema(columns, strict=True, unique=["pledge_id"], name="pledges",
                              description="One row per pledge of the catalog: number, district, title, term, the card's "
                                          "as-of date and ticked 이행단계 (pledgeflow.card_tables).")


def card_attributes_schema() -> pa.DataFrameSchema:
    columns = {
        "pledge_id": text("Pledge (공약) id."),
        "option_order": col(pl.Int64, "The option's place on the card head (1 = first printed).", checks=[pa.Check.ge(1)]),
        "attribute_ko": text("The card's ✓ attribute (항목): 임기구분, 사업주체, 신규여부, 사업시기, 예산구분, 이행단계."),
        "option_ko": text("One printed option of the attribute (선택지)."),
        "selected": col(pl.Boolean, "True when the option is printed bold / ticked; null when the register's mark is "
                        "not understood.", nullable=True),
        "selected_text": text("The mark exactly as keyed (e.g. '○'); null for an empty cell.", nullable=True),
        "source_ref": text("Register file and line of the figure, e.g. 'raw/reported/attributes.csv:17'."),
    }
    return pa.DataFrameSchema(columns, strict=True, unique=["pledge_id", "option_order"], name="card_attributes",
                              description="Every ✓ option of the card head, ticked or not, as printed "
                                          "(pledgeflow.card_tables).")


def card_activities_schema() -> pa.DataFrameSchema:
    columns = {
        "pledge_id": text("Pledge (공약) id."),
        "activity_order": col(pl.Int64, "The figure's place in the card's 추진실적 text (1 = first printed).",
                              checks=[pa.Check.ge(1)]),
        "subproject_id": text("Sub-project (세부사업) id; null when the card's spelling is not in the catalog.", nullable=True),
        "activity_kind": text("Catalog channel id of the activity kind (e.g. training_course, job_fair); null for kinds "
                              "that are no channel (기업탐방).", nullable=True),
        "activity_kind_ko": text("Activity kind as printed (구분): 교육과정, 취업박람회, 기업간담회, 업무협약, 기업탐방 …"),
        "activity_name_ko": text("Activity name as printed (활동명)."),
        "measure": text("What the figure counts (trained, hired, participants, firms, events, date, date_range); null "
                        "when unknown.", nullable=True),
        "measure_ko": text("The figure's label as keyed (항목), e.g. 교육인원."),
        "period": text("'total' for the card's 계, else the catalog period ('2018' …); null when unknown.", nullable=True),
        "period_text": text("The period as printed, e.g. '‘18년' or '계'."),
        "value": col(pl.Int64, "The number the printed figure reads as; null for dates, periods and '-'.", nullable=True),
        "value_text": text("The figure exactly as printed, kept verbatim.", nullable=True),
        "unit_ko": text("Unit as printed (명, 개, 회); null when none.", nullable=True),
        "note_ko": text("The register's remark (비고), e.g. how the card printed a date.", nullable=True),
        "malformed": col(pl.Boolean, "True when the printed figure is not a well-formed number or date."),
        "source_ref": text("Register file and line of the figure, e.g. 'raw/reported/activities.csv:15'."),
    }
    return pa.DataFrameSchema(columns, strict=True, unique=["pledge_id", "activity_order"], name="card_activities",
                              description="The activities the card's 추진실적 text lists (courses, fairs, meetings, "
                                          "agreements) with their figures as printed (pledgeflow.card_tables).")


MEASURE_KINDS = ["count", "sum", "distinct", "ratio"]
TARGET_SEMANTICS = ["per_period", "cumulative"]
RATE_DEFINITIONS = ["cumulative_over_total", "period_over_target", "cumulative_over_target"]
UNASSIGNED_REASONS = ["no_pledge_indicator", "subproject_not_counted", "filtered_out", "outside_periods"]


def pledge_indicators_schema() -> pa.DataFrameSchema:
    columns = {
        "pledge_id": text("Pledge (공약) id from the catalog."),
        "pledge_no": col(pl.Int64, "The pledge's number on its government's card list (공약번호); null when the catalog "
                         "gives none.", nullable=True, checks=[pa.Check.ge(1)]),
        "government_id": text("Government id (자치단체) when the catalog groups pledges by government; null for a pledge "
                              "listed on its own.", nullable=True),
        "district_ko": text("Local government that made the pledge (자치단체), in Korean."),
        "pledge_title_ko": text("The pledge's own name as the catalog spells it (공약명)."),
        "term_start_date": col(pl.Date, "First day of the pledge's term (임기 시작); every record of the pledge must fall "
                               "inside the term."),
        "term_end_date": col(pl.Date, "Last day of the pledge's term (임기 종료)."),
        "period_grid": text("The period grid the pledge's card prints (기간 격자): a grid name from period_grids, "
                            "'default', or the pledge's own id."),
        "subproject_id": text("Sub-project (세부사업) id."),
        "subproject_name_ko": text("Sub-project name as the card prints it (세부사업명)."),
        "spellings_count": col(pl.Int64, "How many distinct spellings of the sub-project the catalog knows (name and "
                               "aliases, compared normalised) (표기 수).", checks=[pa.Check.ge(1)]),
        "indicator_id": text("Indicator (공약달성 확인지표) id."),
        "indicator_name_ko": text("Indicator name in Korean (지표명)."),
        "indicator_name_en": text("Indicator name in English.", nullable=True),
        "unit": text("Unit the card prints (단위), e.g. 명, 개, %."),
        "source_dataset": text("The dataset whose valid records the indicator measures (원자료)."),
        "date_column": text("The record's date column that places it in a period (기준 날짜 열)."),
        "measure_kind": text("count | sum | distinct | ratio (측정 방식).", isin=MEASURE_KINDS),
        "measure_column": text("The column summed or counted once (sum, distinct); null for count and ratio (측정 열).",
                               nullable=True),
        "measure_text": text("The measure as text, e.g. count(), sum(completed_count), ratio(sum(completed_count) / "
                             "sum(enrolled_count)) (측정식)."),
        "filters_text": text("The indicator's filters as text, e.g. 'age_band = mid_career_age; channel_id in "
                             "[job_fair]'; null without filters (필터).", nullable=True),
        "target_semantics": text("per_period or cumulative: what a period's target means on this card (목표 기준).",
                                 isin=TARGET_SEMANTICS),
        "rate_definition": text("How the card's 이행률 is computed: cumulative_over_total, period_over_target or "
                                "cumulative_over_target (이행률 정의).", isin=RATE_DEFINITIONS),
    }
    return pa.DataFrameSchema(columns, strict=True, unique=["pledge_id", "subproject_id", "indicator_id"],
                              name="pledge_indicators",
                              description="What each pledge tracks (지표 정의): one row per pledge, sub-project and "
                                          "indicator, from the catalog (pledgeflow.aggregate.dimensions).")


def pledge_periods_schema() -> pa.DataFrameSchema:
    columns = {
        "pledge_id": text("Pledge (공약) id from the catalog."),
        "period_grid": text("The grid the periods come from (a name under period_grids, 'default', or the pledge's own id)."),
        "period": text("Period label as the card prints it (기간), e.g. 2019, 2022.6., 2023 상반기."),
        "start_date": col(pl.Date, "First day of the period (시작일)."),
        "end_date": col(pl.Date, "Last day of the period (종료일)."),
        "period_order": col(pl.Int64, "Position of the period in the pledge's grid, 1 = earliest (순서).",
                            checks=[pa.Check.ge(1)]),
    }
    return pa.DataFrameSchema(columns, strict=True, unique=["pledge_id", "period"], name="pledge_periods",
                              description="Each pledge's period grid as its card prints it (기간): label, start, end and "
                                          "order (pledgeflow.aggregate.dimensions).")


def unassigned_records_schema() -> pa.DataFrameSchema:
    columns = {
        "dataset": text("Dataset of the record (자료)."),
        "source_file": text("Delivery file, relative to raw/ (출처 파일)."),
        "source_row": col(pl.Int64, "Row number as seen when the file is opened in Excel (행 번호).", checks=[pa.Check.ge(1)]),
        "record_id": text("Record id (레코드ID): the first 16 hex characters of HMAC-SHA256, keyed with the deployment's pseudonym key, over the record's cells exactly as delivered (in the dataset descriptor's column order). It depends on content only, not on source_file or row number: the same record keeps its id across reruns and re-deliveries. Not reversible and not a person identifier; joins validation_failures and decisions on (dataset, record_id)."),
        "pledge_id": text("Pledge its sub-project belongs to (공약).", nullable=True),
        "subproject_id": text("Sub-project of the record (세부사업)."),
        "reason": text("no_pledge_indicator | subproject_not_counted | filtered_out | outside_periods (사유).",
                       isin=UNASSIGNED_REASONS),
        "message_ko": text("What the reason means and what to do, in Korean."),
        "message_en": text("What the reason means and what to do, in English."),
    }
    return pa.DataFrameSchema(columns, strict=True, unique=["dataset", "source_file", "source_row"], name="unassigned_records",
                              description="Valid records no indicator counts, with the reason (미배정 기록): nothing valid "
                                          "vanishes silently (pledgeflow.aggregate.unassigned).")


SCHEMA_BUILDERS = {
    "pledge_indicators": pledge_indicators_schema,
    "pledge_periods": pledge_periods_schema,
    "unassigned_records": unassigned_records_schema,
    "indicator_holdbacks": indicator_holdbacks_schema,
    "failure_trend": failure_trend_schema,
    "decisions": decisions_schema,
    "indicators": indicators_schema,
    "budget": budget_schema,
    "reconciliation": reconciliation_schema,
    "validation_failures": validation_failures_schema,
    "runs": runs_schema,
    "pledges": pledges_schema,
    "card_attributes": card_attributes_schema,
    "card_activities": card_activities_schema,
}


def render_yaml(schema: pa.DataFrameSchema) -> str:
    # to_yaml escapes Hangul (\uXXXX); re-dump with allow_unicode so stewards can read the file.
    return yaml.safe_dump(yaml.safe_load(schema.to_yaml()), allow_unicode=True, sort_keys=False, width=120)


def write_schemas(target: Path = CURATED_DIR) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for table, build in SCHEMA_BUILDERS.items():
        (target / f"{table}.schema.yaml").write_text(render_yaml(build()), encoding="utf-8")


def load(table: str) -> pa.DataFrameSchema:
    return pa.DataFrameSchema.from_yaml(CURATED_DIR / f"{table}.schema.yaml")


@pytest.fixture(params=sorted(CURATED))
def table(request) -> str:
    return request.param


def test_every_curated_table_has_exactly_one_schema_file():
    assert sorted(p.name for p in CURATED_DIR.glob("*.schema.yaml")) == sorted(
        f"{t}.schema.yaml" for t in CURATED
    )


def test_schema_round_trips_through_yaml(table):
    schema = load(table)
    assert pa.DataFrameSchema.from_yaml(schema.to_yaml()) == schema


def test_committed_yaml_matches_its_definition(table):
    assert load(table) == SCHEMA_BUILDERS[table]()


def test_columns_and_dtypes_equal_the_frame_contract(table):
    schema = load(table)
    assert list(schema.columns) == list(CURATED[table])
    assert {name: c.dtype.type for name, c in schema.columns.items()} == CURATED[table]
    assert schema.strict is True


def test_every_column_has_a_description(table):
    assert all(c.description and c.description.strip() for c in load(table).columns.values())


def test_composite_keys():
    assert load("indicators").unique == ["pledge_id", "subproject_id", "indicator_id", "period"]
    assert load("budget").unique == ["pledge_id", "subproject_id", "funding_source", "period"]
    assert load("reconciliation").unique == ["pledge_id", "check_id"]
    assert load("pledge_indicators").unique == ["pledge_id", "subproject_id", "indicator_id"]
    assert load("runs").unique == ["run_number"]


def test_empty_frames_of_the_contract_validate(table):
    load(table).validate(pl.DataFrame(schema=CURATED[table]))


@pytest.mark.parametrize(
    ("table", "column", "bad"),
    [
        ("reconciliation", "kind", "records_vs_card"),
        ("reconciliation", "status", "ok"),
        ("validation_failures", "state", "open"),
        ("validation_failures", "severity", "fatal"),
        ("budget", "funding_source", "private"),
    ],
)
def test_value_outside_the_documented_set_is_rejected(table, column, bad):
    frame = pl.DataFrame({column: [bad]}).pipe(_fill_contract, table)
    with pytest.raises(SchemaErrors) as caught:
        load(table).validate(frame, lazy=True)
    assert column in caught.value.failure_cases["column"].to_list()


def test_negative_rate_and_duplicate_key_are_rejected():
    frame = pl.DataFrame(
        {"pledge_id": ["p", "p"], "achievement_rate_pct": [-1.0, 5.0]}
    ).pipe(_fill_contract, "indicators")
    with pytest.raises(SchemaErrors) as caught:
        load("indicators").validate(frame, lazy=True)
    checks = caught.value.failure_cases["check"].to_list()
    assert "greater_than_or_equal_to(0)" in checks
    assert any("unique" in str(c) for c in checks)


def _fill_contract(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """A frame of the table's contract whose other columns hold valid placeholder values."""
    placeholders = {pl.String: "x", pl.Int64: 1, pl.Int32: 1, pl.Float64: 1.0}
    return frame.select(
        (
            pl.col(name) if name in frame.columns
            else pl.lit(placeholders.get(dtype), dtype=dtype)
        ).cast(dtype).alias(name)
        for name, dtype in CURATED[table].items()
    )


if __name__ == "__main__":
    write_schemas()
