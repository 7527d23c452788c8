//! `POST /api/v1/verify` starts a verification run; `GET /api/v1/verify` lists the newest
//! runs and `GET /api/v1/verify/{id}` shows one, live while it runs.

use super::{bad_request, refused, unavailable};
use crate::AppState;
use actix_web::{web, HttpResponse};
use molt_lms_api::verify::VerifyRequest;
use molt_lms_orchestrator_actors::verifier::{GetVerify, ListVerify, StartVerify};

/// Larger ranges hold more rows in memory at once, on both sides.
const MAX_BATCH_ROWS: u64 = 100_000;

fn check(req: &VerifyRequest) -> Result<(), String> {
    if req.batch_rows.is_some_and(|b| b == 0 || b > MAX_BATCH_ROWS) {
        return Err(format!("batch_rows: must be 1 to {MAX_BATCH_ROWS}"));
    }
    if req.rows_per_second == Some(0) {
        return Err("rows_per_second: must be at least 1 (omit it for no limit)".into());
    }
    if let Some(t) = req.tables.iter().find(|t| t.trim().is_empty()) {
        return Err(format!("tables: empty table name {t:?}"));
    }
    Ok(())
}

pub async fn start(state: web::Data<AppState>, body: web::Json<VerifyRequest>) -> HttpResponse {
    let req = body.into_inner();
    if let Err(e) = check(&req) {
        return bad_request(e);
    }
    match state.verifier.send(StartVerify(req)).await {
        Ok(Ok(run)) => HttpResponse::Accepted().json(run),
        Ok(Err(r)) => refused(r),
        Err(_) => unavailable(),
    }
}

pub async fn list(state: web::Data<AppState>) -> HttpResponse {
    match state.verifier.send(ListVerify).await {
        Ok(Ok(runs)) => HttpResponse::Ok().json(runs),
        Ok(Err(r)) => refused(r),
        Err(_) => unavailable(),
    }
}

pub async fn get(state: web::Data<AppState>, id: web::Path<u64>) -> HttpResponse {
    match state.verifier.send(GetVerify(id.into_inner())).await {
        Ok(Ok(run)) => HttpResponse::Ok().json(run),
        Ok(Err(r)) => refused(r),
        Err(_) => unavailable(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_out_of_range_are_refused_with_the_field_named() {
        assert!(check(&VerifyRequest::default()).is_ok());
        let bad = |r: VerifyRequest| check(&r).expect_err("refused");
        assert!(bad(VerifyRequest {
            batch_rows: Some(0),
            ..Default::default()
        })
        .starts_with("batch_rows"));
        assert!(bad(VerifyRequest {
            rows_per_second: Some(0),
            ..Default::default()
        })
        .starts_with("rows_per_second"));
        assert!(bad(VerifyRequest {
            tables: vec![" ".into()],
            ..Default::default()
        })
        .starts_with("tables"));
    }
}
