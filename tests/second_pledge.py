"""A second pledge, added to a copy of the project by configuration and register files alone.

It differs from pledge 15 on every axis: another government and term (2022-07-01 to 2026-06-30), a half-year
period grid declared once for the term, indicators of each measure kind (a sum, a ratio, a filtered count, a
distinct count) over three datasets and two date columns, cumulative targets and another rate definition, and
its own register (raw/reported/hb-2022-7/) with one figure that disagrees with the records.
"""

from __future__ import annotations

from pathlib import Path

PLEDGE = "hb-2022-7"

CATALOG = """
# ---- a second government, added by configuration alone (tests/second_pledge.py) ----
period_grids:
  half-years-2022:
    - {period: "2022 하반기", start_date: 2022-07-01, end_date: 2022-12-31}
    - {period: "2023 상반기", start_date: 2023-01-01, end_date: 2023-06-30}
    - {period: "2023 하반기", start_date: 2023-07-01, end_date: 2023-12-31}
    - {period: "2024 상반기", start_date: 2024-01-01, end_date: 2024-06-30}
    - {period: "2024 하반기", start_date: 2024-07-01, end_date: 2024-12-31}
    - {period: "2025 상반기", start_date: 2025-01-01, end_date: 2025-06-30}
    - {period: "2025 하반기", start_date: 2025-07-01, end_date: 2025-12-31}
    - {period: "2026 상반기", start_date: 2026-01-01, end_date: 2026-06-30}

governments:
  - government_id: hanbit
    district_ko: 한빛구
    terms:
      - term_start_date: 2022-07-01
        term_end_date: 2026-06-30
        periods: half-years-2022
        pledges:
          - pledge_id: hb-2022-7
            pledge_no: 7
            title_ko: 청년·신중년 맞춤 일자리
            subprojects:
              - {subproject_id: hb_youth_digital, name_ko: 청년 디지털 인재 양성, aliases: [청년 디지털 교육]}
              - {subproject_id: hb_senior_fair, name_ko: 신중년 채용박람회, aliases: [신중년 박람회]}
            indicators:
              - indicator_id: completed
                name_ko: 수료인원
                unit: 명
                source_dataset: training_cohorts
                date_column: start_date
                subprojects: [hb_youth_digital]
                measure: {kind: sum, column: completed_count}
              - indicator_id: completion_rate
                name_ko: 수료율
                unit: "%"
                source_dataset: training_cohorts
                date_column: end_date
                subprojects: [hb_youth_digital]
                measure:
                  kind: ratio
                  numerator: {kind: sum, column: completed_count}
                  denominator: {kind: sum, column: enrolled_count}
                rate: period_over_target
              - indicator_id: fair_hires
                name_ko: 박람회 신중년 채용인원
                unit: 명
                source_dataset: placements
                date_column: hire_date
                subprojects: [hb_senior_fair]
                filters: {channel_id: [job_fair], age_band: mid_career_age}
                target: cumulative
                rate: cumulative_over_target
              - indicator_id: fair_employers
                name_ko: 채용 참여기업 수
                unit: 개
                source_dataset: placements
                date_column: hire_date
                subprojects: [hb_senior_fair]
                measure: {kind: distinct, column: employer_brn}
"""

FILES = {
    "training_cohorts/2023_한빛구_청년디지털.csv": """기수번호,교육과정명,세부사업명,교육기관,후원,교육시작일,교육종료일,등록인원,수료자수,특이사항
HB-TC-01,청년 데이터 분석 과정,청년 디지털 인재 양성,한빛IT,,2022.09.05,2022.11.30,20,18,
HB-TC-02,청년 웹개발 과정,청년 디지털 교육,한빛IT,,2023.03.02,2023.06.20,25,20,
HB-TC-03,청년 클라우드 과정,청년 디지털 인재 양성,한빛IT,,2023.05.10,2023.07.15,30,27,
HB-TC-04,청년 사전 과정,청년 디지털 인재 양성,한빛IT,,2022.05.02,2022.06.10,10,10,임기 전
HB-TC-05,신중년 취업 준비 과정,신중년 채용박람회,한빛IT,,2023.02.01,2023.02.28,15,15,
""",
    "job_fairs/2023_한빛구_박람회.csv": """행사번호,행사명,사업명,개최일자,방식,참여기업수,참가인원,특이사항
HB-JF-01,2023 신중년 채용박람회,신중년 채용박람회,2023. 4. 12.,대면,12,300,-
""",
    "placements/2023_한빛구_신중년.csv": """구직자번호,출생년도,사업자번호,업체명,취업일,세부사업명,채용경로,과정/박람회 번호,특이사항
HB-J-0001,1965,1078695632,(주)보라매경비,2023. 4. 20.,신중년 채용박람회,취업박람회,HB-JF-01,-
HB-J-0002,1968,1098605704,(주)문래정밀,2023. 5. 2.,신중년 박람회,취업박람회,HB-JF-01,-
HB-J-0003,1990,1078695632,(주)보라매경비,2023. 5. 3.,신중년 채용박람회,취업박람회,HB-JF-01,-
HB-J-0004,1962,1078695632,(주)보라매경비,2023. 9. 1.,신중년 채용박람회,기업간담회,-,-
""",
    "reported/hb-2022-7/_tables.csv": """파일,표,공약번호,출처,위치,기준일,기준 표기
targets.csv,공약달성 확인지표 (목표),7,한빛구 공약 이행카드 7,I 공약달성 확인지표,2023. 12. 31.,(2023. 12. 기준)
results.csv,추진실적,7,한빛구 공약 이행카드 7,I 추진실적 표,2023. 12. 31.,(2023. 12. 기준)
""",
    "reported/hb-2022-7/targets.csv": """세부사업,지표,단위,기간,목표
청년 디지털 인재 양성,수료인원,명,계,100
청년 디지털 인재 양성,수료인원,명,2022년 하반기,20
청년 디지털 인재 양성,수료인원,명,2023년 상반기,40
청년 디지털 인재 양성,수료인원,명,2023년 하반기,40
청년 디지털 인재 양성,수료율,%,2022년 하반기,80
청년 디지털 인재 양성,수료율,%,2023년 상반기,80
청년 디지털 인재 양성,수료율,%,2023년 하반기,80
신중년 채용박람회,박람회 신중년 채용인원,명,계,10
신중년 채용박람회,박람회 신중년 채용인원,명,2023년 상반기,5
신중년 채용박람회,박람회 신중년 채용인원,명,2023년 하반기,10
신중년 채용박람회,채용 참여기업 수,개,계,4
신중년 채용박람회,채용 참여기업 수,개,2023년 상반기,2
신중년 채용박람회,채용 참여기업 수,개,2023년 하반기,2
""",
    "reported/hb-2022-7/results.csv": """세부사업,지표,단위,항목,기간,값
청년 디지털 인재 양성,수료인원,명,실적,2022년 하반기,18
청년 디지털 인재 양성,수료인원,명,실적,2023년 상반기,47
청년 디지털 인재 양성,수료율,%,실적,2022년 하반기,90
청년 디지털 인재 양성,수료율,%,실적,2023년 상반기,80
청년 디지털 인재 양성,수료율,%,실적,2023년 하반기,90
신중년 채용박람회,박람회 신중년 채용인원,명,실적,2023년 상반기,3
신중년 채용박람회,채용 참여기업 수,개,실적,2023년 상반기,2
신중년 채용박람회,채용 참여기업 수,개,실적,2023년 하반기,1
""",
}


def add_second_pledge(root: Path) -> Path:
    """Write the second pledge into the project at `root`: catalog lines, deliveries and its card's register."""
    catalog = root / "schemas" / "catalog.yaml"
    catalog.write_text(catalog.read_text(encoding="utf-8") + CATALOG, encoding="utf-8")
    for name, text in FILES.items():
        path = root / "raw" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root
