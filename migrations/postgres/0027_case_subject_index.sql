-- The cases about an enterprise or project, for the lists of a 包抓领导 who answers for it: an
-- official's list is read as a UNION of the cases they own, those counted in their units and
-- those about their enterprises (src/store/cases.rs `within_ids`), each part by an index; the
-- subject had none, and without it that part read every case.
CREATE INDEX alert_case_subject ON alert_case (subject);
