import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { Link, useRouterState } from "@tanstack/react-router";
import { useEffect, useRef, useState } from "react";
import { ApiError, errorMessage } from "../../api/client";
import * as api from "../../api/endpoints";
import type { Review, ReviewSort, ReviewsPage } from "../../api/types";
import { Rating } from "../../components/ProductCard";
import { ErrorNotice, Skeleton } from "../../components/Status";
import { formatDate } from "../../lib/format";
import { isSignedIn } from "../auth/store";
import { reviewsQuery } from "./queries";

/** Ratings are counted from the table's stream within seconds: after a write, look again for this long. */
const FOLLOW_MS = 10_000;
const STARS = [5, 4, 3, 2, 1] as const;

function Histogram({ page }: { page: ReviewsPage }) {
  const total = page.reviewCount;
  return (
    <div className="histogram" data-testid="rating-histogram" data-review-count={total}>
      <p>
        <Rating rating={page.rating} /> <span className="muted">{total === 1 ? "1 rating" : `${total} ratings`}</span>
      </p>
      <ul aria-label="Ratings by stars">
        {STARS.map((stars) => {
          const count = page.histogram[stars];
          const share = total > 0 ? Math.round((count / total) * 100) : 0;
          return (
            <li key={stars} data-testid={`histogram-${stars}`} data-count={count}>
              <span className="histogram-label">{stars} star</span>
              <span className="histogram-bar" aria-hidden="true">
                <span style={{ width: `${share}%` }} />
              </span>
              <span className="histogram-share">
                {share}%<span className="visually-hidden"> ({count})</span>
              </span>
            </li>
          );
        })}
      </ul>
    </div>
  );
}

function HelpfulButton({ review }: { review: Review }) {
  const [voted, setVoted] = useState<{ helpful: number; counted: boolean } | null>(null);
  const vote = useMutation({
    mutationFn: () => api.voteHelpful(review.productId, review.reviewId),
    onSuccess: (v) => setVoted(v),
  });
  const helpful = voted?.helpful ?? review.helpful;
  if (!isSignedIn()) return <span className="muted small">{helpful} found this helpful</span>;
  return (
    <span className="small">
      <button type="button" className="button" data-testid="review-helpful" disabled={vote.isPending || voted !== null} onClick={() => vote.mutate()}>
        Helpful
      </button>{" "}
      <span className="muted" data-testid="review-helpful-count">
        {helpful} found this helpful
      </span>
      {voted && !voted.counted && <span className="muted"> · you voted before</span>}
      {vote.isError && (
        <span className="warn" role="alert">
          {" "}
          {errorMessage(vote.error)}
        </span>
      )}
    </span>
  );
}

function ReviewItem({ review }: { review: Review }) {
  return (
    <li className="review" data-testid="review" data-review-id={review.reviewId}>
      <p className="review-head">
        <span className="stars" aria-label={`${review.rating} out of 5 stars`}>
          {"★".repeat(review.rating)}
          <span className="muted">{"★".repeat(5 - review.rating)}</span>
        </span>{" "}
        <strong data-testid="review-title">{review.title}</strong>
      </p>
      <p className="muted small">
        Verified purchase · {formatDate(review.createdAt)}
        {review.updatedAt !== review.createdAt && " · edited"}
      </p>
      <p className="review-body">{review.body}</p>
      <HelpfulButton review={review} />
    </li>
  );
}

/** A buyer writes (or replaces) their review; anyone else is told why not. */
function WriteReview({ productId, onWritten }: { productId: string; onWritten: () => void }) {
  const [rating, setRating] = useState(0);
  const [title, setTitle] = useState("");
  const [body, setBody] = useState("");
  const href = useRouterState({ select: (s) => s.location.href });
  const write = useMutation({
    mutationFn: () => api.writeReview(productId, { rating, title, body }),
    onSuccess: onWritten,
  });
  if (!isSignedIn())
    return (
      <p>
        <Link to="/signin" search={{ redirect: href }}>
          Sign in
        </Link>{" "}
        to review this product.
      </p>
    );
  const refusal =
    write.error instanceof ApiError && write.error.code === "NOT_A_BUYER"
      ? "Only shoppers who bought this product can review it."
      : write.error && errorMessage(write.error);
  return (
    <form
      className="review-form"
      data-testid="review-form"
      onSubmit={(e) => {
        e.preventDefault();
        write.mutate();
      }}
    >
      <h3>Write a review</h3>
      <fieldset className="star-picker">
        <legend>Your rating</legend>
        {[1, 2, 3, 4, 5].map((n) => (
          <label key={n}>
            <input type="radio" name="rating" value={n} checked={rating === n} onChange={() => setRating(n)} data-testid={`review-rating-${n}`} required />
            {n}★
          </label>
        ))}
      </fieldset>
      <label htmlFor="review-title">Title</label>
      <input id="review-title" data-testid="review-title-input" value={title} maxLength={150} required onChange={(e) => setTitle(e.target.value)} />
      <label htmlFor="review-body">Review</label>
      <textarea id="review-body" data-testid="review-body-input" value={body} maxLength={5000} rows={4} required onChange={(e) => setBody(e.target.value)} />
      <button type="submit" className="button button-primary" data-testid="review-submit" disabled={write.isPending}>
        {write.isPending ? "Saving…" : "Submit review"}
      </button>
      {write.isSuccess && (
        <p className="ok" role="status" data-testid="review-saved">
          Thanks: your review is saved.
        </p>
      )}
      {refusal && (
        <p className="warn" role="alert" data-testid="review-error">
          {refusal}
        </p>
      )}
    </form>
  );
}

export function Reviews({ productId }: { productId: string }) {
  const [sort, setSort] = useState<ReviewSort>("newest");
  const [followUntil, setFollowUntil] = useState(0);
  const queryClient = useQueryClient();
  const reviews = useInfiniteQuery({
    ...reviewsQuery(productId, sort),
    refetchInterval: () => (Date.now() < followUntil ? 500 : false),
  });
  const summary = reviews.data?.pages[0];
  const count = summary?.reviewCount;
  // The product's own rating (the page header) follows the counted one when it changes.
  const seen = useRef<number | undefined>(undefined);
  useEffect(() => {
    if (seen.current !== undefined && count !== seen.current) void queryClient.invalidateQueries({ queryKey: ["product", productId] });
    if (count !== undefined) seen.current = count;
  }, [count, productId, queryClient]);

  return (
    <section className="reviews" aria-labelledby="reviews-title" data-testid="reviews">
      <h2 id="reviews-title">Customer reviews</h2>
      {reviews.isPending ? (
        <Skeleton label="Loading reviews…" shape="lines" count={4} />
      ) : reviews.isError || !summary ? (
        <ErrorNotice error={reviews.error} />
      ) : (
        <div className="reviews-layout">
          <div>
            <Histogram page={summary} />
            <WriteReview
              productId={productId}
              onWritten={() => {
                setFollowUntil(Date.now() + FOLLOW_MS);
                void queryClient.invalidateQueries({ queryKey: ["reviews", productId] });
              }}
            />
          </div>
          <div>
            <label htmlFor="reviews-sort">Sort by </label>
            <select id="reviews-sort" data-testid="reviews-sort" value={sort} onChange={(e) => setSort(e.target.value as ReviewSort)}>
              <option value="newest">Newest</option>
              <option value="helpful">Most helpful</option>
            </select>
            <ul className="review-list">
              {reviews.data.pages.flatMap((p) => p.reviews).map((r) => (
                <ReviewItem key={r.reviewId} review={r} />
              ))}
            </ul>
            {reviews.data.pages.every((p) => p.reviews.length === 0) && <p className="muted">No written reviews yet.</p>}
            {reviews.hasNextPage && (
              <button type="button" className="button" data-testid="reviews-more" disabled={reviews.isFetchingNextPage} onClick={() => void reviews.fetchNextPage()}>
                {reviews.isFetchingNextPage ? "Loading…" : "More reviews"}
              </button>
            )}
          </div>
        </div>
      )}
    </section>
  );
}
